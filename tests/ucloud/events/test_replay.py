"""ucloud_replay relays kept outbox events again; inboxes keep effects single."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from apps.files import services as files
from apps.notifications.models import Notification
from ucloud.models import InboxEntry, OutboxEvent

pytestmark = pytest.mark.django_db(transaction=True)


def test_replay_reaches_consumers_again_but_the_inbox_skips_handled_events(capsys):
    files.file_create(owner="alice", path="/replayed.txt", size=1)
    assert Notification.objects.filter(username="alice").count() == 1
    assert OutboxEvent.objects.filter(relayed_at__isnull=True).count() == 0

    call_command("ucloud_replay", "--since", "2000-01-01T00:00:00Z", "--stream", "files.events")

    assert "Marked 1 event(s) for replay; relayed 1." in capsys.readouterr().out
    assert Notification.objects.filter(username="alice").count() == 1


def test_replay_feeds_a_consumer_that_forgot_what_it_handled():
    files.file_create(owner="bob", path="/again.txt", size=1)
    InboxEntry.objects.all().delete()  # as a new consumer would start

    call_command("ucloud_replay", "--since", "2000-01-01T00:00:00Z")

    assert Notification.objects.filter(username="bob").count() == 2


def test_replay_of_a_time_range_leaves_older_events_alone():
    files.file_create(owner="carol", path="/old.txt", size=1)
    InboxEntry.objects.all().delete()

    call_command("ucloud_replay", "--since", "2999-01-01T00:00:00Z")

    assert Notification.objects.filter(username="carol").count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "is not an ISO 8601 date and time"),
        (["--since", "2026-01-01T00:00:00"], "needs a time zone"),
        (["--since", "2026-01-01T00:00:00Z", "--stream", "nope.events"], "Unknown stream"),
    ],
)
def test_replay_refuses_bad_arguments_with_a_clear_error(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("ucloud_replay", *args)
