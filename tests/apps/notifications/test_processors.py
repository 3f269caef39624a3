"""Files events become notifications: produced by the files services, relayed
after commit and processed eagerly (the embedded mode), in one process."""

from __future__ import annotations

import pytest

from apps.accounts.services import user_create
from apps.files import services as files
from apps.files.api import files_events
from apps.notifications.models import Notification
from apps.notifications.processors import notify_of_file_event
from ucloud.contracts.errors import Conflict
from ucloud.events.delivery import Received, deliver
from ucloud.events.processors import processors
from ucloud.models import InboxEntry, OutboxEvent
from ucloud.rpc.client import RPCClient

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def users() -> None:
    for username in ("alice", "bob"):
        user_create(username=username, password="correct-horse-battery", role="USER")


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run the after-commit hooks of what happens inside, as a commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def notes() -> list[tuple[str, str, str]]:
    return list(Notification.objects.order_by("id").values_list("username", "type", "message"))


def test_the_notifications_service_subscribes_its_processor_to_files_events():
    [found] = [p for p in processors().values() if p.function is notify_of_file_event]
    assert (found.group, found.stream.name, found.batched) == (
        "notifications",
        "files.events",
        False,
    )


def test_create_move_delete_notify_the_owner_and_share_notifies_the_target(committed):
    with committed():
        file = files.file_create(owner="alice", path="/a.txt", size=3)
    with committed():
        files.file_move(username="alice", id=file["id"], new_path="/b.txt")
    with committed():
        files.file_share(
            username="alice", id=file["id"], target="bob", accounts=RPCClient.for_service("files")
        )
    with committed():
        files.file_delete(username="alice", id=file["id"])

    assert notes() == [
        ("alice", "file_created", "You created /a.txt"),
        ("alice", "file_moved", "You moved /a.txt to /b.txt"),
        ("bob", "file_shared", "alice shared /b.txt with you"),
        ("alice", "file_deleted", "You deleted /b.txt"),
    ]
    assert set(Notification.objects.values_list("file_id", flat=True)) == {file["id"]}


def test_nothing_is_notified_before_the_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        files.file_create(owner="alice", path="/a.txt", size=3)
    assert len(callbacks) == 1
    assert notes() == []


def test_a_failed_create_notifies_nobody(committed):
    with committed():
        files.file_create(owner="alice", path="/a.txt", size=3)
    with committed(), pytest.raises(Conflict):
        files.file_create(owner="alice", path="/a.txt", size=5)
    assert len(notes()) == 1
    assert OutboxEvent.objects.count() == 1


def test_sharing_twice_with_the_same_user_notifies_once(committed):
    with committed():
        file = files.file_create(owner="alice", path="/a.txt", size=3)
    accounts = RPCClient.for_service("files")
    for _ in range(2):
        with committed():
            files.file_share(username="alice", id=file["id"], target="bob", accounts=accounts)
    assert [note for note in notes() if note[0] == "bob"] == [
        ("bob", "file_shared", "alice shared /a.txt with you")
    ]


def test_a_files_event_delivered_again_is_not_notified_twice(committed):
    with committed():
        files.file_create(owner="alice", path="/a.txt", size=3)
    # What a redelivery from the stream would carry: the same events again.
    again = [
        Received(str(row.event_id), row.key, row.payload, row.created_at)
        for row in OutboxEvent.objects.all()
    ]
    outcome = deliver("notifications", files_events, again, attempts={})
    assert (len(outcome.done), outcome.failed) == (1, [])
    assert len(notes()) == 1
    assert InboxEntry.objects.filter(consumer__startswith="notifications:").count() == 1
