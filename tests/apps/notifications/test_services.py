"""Business logic of notifications: who hears of which files event, and the
caller's own notifications page by page."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from apps.notifications import services
from apps.notifications.models import Notification
from ucloud.contracts.errors import BadRequest

pytestmark = pytest.mark.django_db


def file_event(kind: str, **extra: object) -> dict:
    """A files event payload in JSON form, as the processor receives it."""
    return {
        "type": kind,
        "file_id": 7,
        "owner": "alice",
        "path": "/docs/a.txt",
        "old_path": None,
        "shared_with": None,
        **extra,
    }


@pytest.mark.parametrize(
    ("event", "recipient", "message"),
    [
        (file_event("file_created"), "alice", "You created /docs/a.txt"),
        (
            file_event("file_moved", old_path="/a.txt"),
            "alice",
            "You moved /a.txt to /docs/a.txt",
        ),
        (file_event("file_deleted"), "alice", "You deleted /docs/a.txt"),
        (
            file_event("file_shared", shared_with="bob"),
            "bob",
            "alice shared /docs/a.txt with you",
        ),
    ],
    ids=["created", "moved", "deleted", "shared"],
)
def test_each_files_event_notifies_the_right_user(event, recipient, message):
    made = services.notification_from_file_event(event)
    stored = Notification.objects.get()
    assert stored == made
    assert (stored.username, stored.type, stored.message) == (recipient, event["type"], message)
    assert (stored.file_id, stored.read) == (7, False)


def test_an_unknown_event_type_is_refused_and_stores_nothing():
    with pytest.raises(ValueError, match="file_exploded"):
        services.notification_from_file_event(file_event("file_exploded"))
    assert Notification.objects.count() == 0


def notify(username: str, count: int, *, file_id: int = 1) -> list[int]:
    return [
        Notification.objects.create(
            username=username, type="file_created", message=f"m{n}", file_id=file_id
        ).id
        for n in range(count)
    ]


def browse(username: str = "alice", **options) -> dict:
    options.setdefault("items_per_page", 50)
    return services.notification_browse(username=username, **options)


def ids_of(page: dict) -> list[int]:
    return [item["id"] for item in page["items"]]


def test_browse_shows_own_notifications_newest_first():
    mine = notify("alice", 3)
    notify("bob", 2)
    page = browse()
    assert ids_of(page) == mine[::-1]
    assert page["next"] is None
    assert set(page["items"][0]) == {"id", "type", "message", "file_id", "read", "created_at"}


def test_browse_pages_through_everything_once_with_next():
    mine = notify("alice", 5)
    first = browse(items_per_page=2)
    second = browse(items_per_page=2, next=first["next"])
    third = browse(items_per_page=2, next=second["next"])
    assert [ids_of(first), ids_of(second), ids_of(third)] == [
        mine[4:2:-1],
        mine[2:0:-1],
        mine[:1],
    ]
    assert third["next"] is None


def test_a_full_last_page_has_no_next():
    notify("alice", 2)
    assert browse(items_per_page=2)["next"] is None


def test_browse_unread_only_leaves_out_read_ones():
    first, second, third = notify("alice", 3)
    Notification.objects.filter(id=second).update(read=True)
    assert ids_of(browse(unread_only=True)) == [third, first]
    assert ids_of(browse(unread_only=False)) == [third, second, first]


def test_an_invalid_page_token_is_a_bad_request():
    with pytest.raises(BadRequest) as caught:
        browse(next="not-a-number")
    assert caught.value.errors == {"next": ["Not a valid page token."]}


def test_mark_read_affects_only_own_unread_notifications_and_counts_them():
    mine = notify("alice", 3)
    theirs = notify("bob", 1)
    Notification.objects.filter(id=mine[0]).update(read=True)

    updated = services.notification_mark_read(username="alice", ids=[*mine, *theirs, 999_999])

    assert updated == 2
    assert set(Notification.objects.filter(read=True).values_list("id", flat=True)) == set(mine)
    assert services.notification_mark_read(username="alice", ids=mine) == 0


def test_prune_deletes_old_read_notifications_only():
    old_read, old_unread, new_read = notify("alice", 3)
    Notification.objects.filter(id__in=[old_read, new_read]).update(read=True)
    Notification.objects.filter(id__in=[old_read, old_unread]).update(
        created_at=timezone.now() - datetime.timedelta(days=40)
    )
    assert services.notification_prune(older_than=datetime.timedelta(days=30)) == 1
    assert set(Notification.objects.values_list("id", flat=True)) == {old_unread, new_read}
