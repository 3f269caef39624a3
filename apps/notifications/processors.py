"""Processors of notifications: every files event becomes a notification,
and a periodic job prunes old read notifications on one instance at a time.

    celery -A config worker -Q ucloud.notifications    # what make worker runs
"""

from __future__ import annotations

import datetime

from celery import shared_task

from apps.files.api import files_events
from apps.notifications import services
from ucloud.events.processors import processor
from ucloud.events.streams import Event
from ucloud.locks import run_exclusively

# Read notifications older than this are deleted by the periodic job.
READ_RETENTION = datetime.timedelta(days=30)


@processor(files_events)
def notify_of_file_event(event: Event) -> None:
    services.notification_from_file_event(event.payload)


# Beat may fire on several schedulers by mistake, and a slow run may
# overlap the next: the lock makes every run happen on one instance only.
@shared_task(name="notifications.prune_read")
@run_exclusively("notifications.prune_read", ttl=600)
def prune_read_notifications() -> int:
    return services.notification_prune(older_than=READ_RETENTION)
