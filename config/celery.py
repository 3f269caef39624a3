"""The project's Celery app; processors of every service register here.

Start a worker with ``celery -A config worker``. Without ``CELERY_BROKER_URL``
tasks run eagerly in process (the embedded default)::

    from config.celery import app
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("ucloud")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(related_name="processors")
