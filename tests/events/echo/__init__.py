"""A second test-only consuming service for the event-delivery proofs: its own
consumer group (``echo``) on the probe's stream, so that the proofs check
that every group gets every event exactly once::

    DJANGO_SETTINGS_MODULE=tests.events.settings python manage.py ucloud_worker
"""
