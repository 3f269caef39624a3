"""Business logic of notifications.

notification_from_file_event(payload)      # called by the processor
page = notification_browse(username="alice", items_per_page=20)
"""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from apps.notifications.models import Notification, NotificationType
from ucloud.contracts.pages import keyset_page


def _recipient_and_message(payload: dict[str, Any]) -> tuple[str, str]:
    kind, owner, path = payload["type"], payload["owner"], payload["path"]
    if kind == NotificationType.FILE_CREATED:
        return owner, f"You created {path}"
    if kind == NotificationType.FILE_MOVED:
        return owner, f"You moved {payload.get('old_path')} to {path}"
    if kind == NotificationType.FILE_DELETED:
        return owner, f"You deleted {path}"
    if kind == NotificationType.FILE_SHARED:
        return str(payload["shared_with"]), f"{owner} shared {path} with you"
    raise ValueError(f"Unknown file event type {kind!r}")


def notification_from_file_event(payload: dict[str, Any]) -> Notification:
    """The owner hears of create / move / delete, the target user of a share."""
    username, message = _recipient_and_message(payload)
    return Notification.objects.create(
        username=username, type=payload["type"], message=message, file_id=payload["file_id"]
    )


def notification_data(notification: Notification) -> dict[str, Any]:
    return {
        "id": notification.id,
        "type": notification.type,
        "message": notification.message,
        "file_id": notification.file_id,
        "read": notification.read,
        "created_at": notification.created_at,
    }


def notification_browse(
    *, username: str, items_per_page: int, next: str | None = None, unread_only: bool = False
) -> dict[str, Any]:
    found = Notification.objects.filter(username=username)
    if unread_only:
        found = found.filter(read=False)
    return keyset_page(
        found,
        items_per_page=items_per_page,
        next=next,
        render=notification_data,
        newest_first=True,
    )


def notification_mark_read(*, username: str, ids: list[int]) -> int:
    return Notification.objects.filter(username=username, id__in=ids, read=False).update(read=True)


def notification_prune(*, older_than: datetime.timedelta) -> int:
    """Delete read notifications older than ``older_than``; return how many."""
    cutoff = timezone.now() - older_than
    deleted, _ = Notification.objects.filter(read=True, created_at__lt=cutoff).delete()
    return deleted
