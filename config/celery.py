"""The project's Celery app; processors of every service register here.

Start a worker with ``celery -A config worker``. Without ``CELERY_BROKER_URL``
tasks run eagerly in process (the embedded default)::

    from config.celery import app
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("ucloud")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(related_name="processors")


@app.on_after_finalize.connect
def _schedule_kit_tasks(sender: Celery, **kwargs: Any) -> None:
    from ucloud.events.tasks import schedule_periodic_tasks

    schedule_periodic_tasks(sender)
