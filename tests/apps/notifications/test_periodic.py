"""The periodic prune of read notifications runs on one instance at a time."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from apps.notifications.models import Notification
from apps.notifications.processors import READ_RETENTION, prune_read_notifications
from ucloud.locks import DistributedLock

pytestmark = pytest.mark.django_db


def _notification(*, read: bool, age: datetime.timedelta) -> Notification:
    note = Notification.objects.create(
        username="alice", type="file_created", message="You created /a", file_id=1, read=read
    )
    Notification.objects.filter(id=note.id).update(created_at=timezone.now() - age)
    return note


def test_prune_deletes_only_old_read_notifications():
    old = READ_RETENTION + datetime.timedelta(days=1)
    old_read = _notification(read=True, age=old)
    old_unread = _notification(read=False, age=old)
    new_read = _notification(read=True, age=datetime.timedelta(days=1))

    assert prune_read_notifications() == 1

    remaining = set(Notification.objects.values_list("id", flat=True))
    assert remaining == {old_unread.id, new_read.id}
    assert old_read.id not in remaining


def test_prune_is_skipped_while_another_instance_holds_the_lock():
    _notification(read=True, age=READ_RETENTION + datetime.timedelta(days=1))
    other_instance = DistributedLock("notifications.prune_read", ttl=30)
    assert other_instance.acquire(blocking=False)
    try:
        assert prune_read_notifications() is None
        assert Notification.objects.count() == 1
    finally:
        other_instance.release()
    assert prune_read_notifications() == 1
