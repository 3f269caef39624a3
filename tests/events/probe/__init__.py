"""A test-only consuming service for the event-delivery proofs (``tests/events``).

Installed only by ``tests.events.settings``; its processors make every
delivery observable: an ``Effect`` row per processor and event key (unique),
one line per execution in ``PROBE_DIR/executions.log`` (outside any
transaction, so executions that were rolled back or killed still count)::

    DJANGO_SETTINGS_MODULE=tests.events.settings PROBE_DIR=/tmp/p \\
        python manage.py probe_produce --count 100
"""
