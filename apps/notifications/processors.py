"""Processors of notifications: every files event becomes a notification."""

from __future__ import annotations

from apps.files.api import files_events
from apps.notifications import services
from ucloud.processors import processor
from ucloud.streams import Event


@processor(files_events)
def notify_of_file_event(event: Event) -> None:
    services.notification_from_file_event(event.payload)
