"""Large batches reach the outbox through PostgreSQL's COPY: the same rows,
in the same transaction, as the ORM path writes."""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import connection, transaction
from django.utils import timezone

from apps.files.api import files_events
from apps.notifications.models import Notification
from tests.conftest import require
from ucloud.events.copying import COPY_THRESHOLD, copy_rows, new_event_ids
from ucloud.models import OutboxEvent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql():
    require(connection.vendor == "postgresql", "PostgreSQL as the default database")


def _events(count: int, owner: str) -> list[dict]:
    return [
        {"type": "file_created", "file_id": i, "owner": owner, "path": f"/copy/{i}"}
        for i in range(1, count + 1)
    ]


def test_a_large_batch_is_copied_and_relayed_after_commit():
    with transaction.atomic():
        files_events.produce_many(_events(COPY_THRESHOLD + 5, "alice"))
        assert Notification.objects.count() == 0  # nothing before commit

    rows = list(OutboxEvent.objects.order_by("id"))
    assert len(rows) == COPY_THRESHOLD + 5
    assert len({row.event_id for row in rows}) == len(rows)
    first = rows[0]
    assert (first.stream, first.key) == ("files.events", "1")
    assert first.payload == {
        "type": "file_created",
        "file_id": 1,
        "owner": "alice",
        "path": "/copy/1",
        "old_path": None,
        "shared_with": None,
    }
    assert first.created_at is not None
    assert all(row.relayed_at is not None for row in rows)
    # Eager mode: the notifications processor ran once per copied event.
    assert Notification.objects.filter(username="alice").count() == len(rows)


def _produce_then_fail() -> None:
    with transaction.atomic():
        files_events.produce_many(_events(COPY_THRESHOLD, "bob"))
        raise RuntimeError("the state change failed")


def test_a_copied_batch_rolls_back_with_its_transaction():
    with pytest.raises(RuntimeError):
        _produce_then_fail()

    assert OutboxEvent.objects.count() == 0
    assert Notification.objects.count() == 0


ODD = "a\tb\nc\rd\\e \\N \\t"


def test_copied_values_keep_the_characters_copy_escapes():
    """Tabs, newlines, carriage returns and backslashes (and text that looks
    like COPY's NULL) reach the row unchanged: the text format escapes them."""
    events = _events(COPY_THRESHOLD, "carol")
    events[0]["path"] = f"/copy/{ODD}"
    with transaction.atomic():
        files_events.produce_many(events)

    first = OutboxEvent.objects.order_by("id").first()
    assert first is not None
    assert first.payload["path"] == f"/copy/{ODD}"
    assert uuid.UUID(str(first.event_id)).version == 4


def test_copy_rows_writes_any_text_and_null():
    event_id, at = new_event_ids(1)[0], timezone.now()
    with transaction.atomic():
        copy_rows(
            "default",
            OutboxEvent,
            ("event_id", "stream", "key", "payload", "created_at", "relayed_at"),
            [(event_id, ODD, ODD, json.dumps({"text": ODD}), at, None)],
        )

    row = OutboxEvent.objects.get()
    assert (str(row.event_id).replace("-", ""), row.stream, row.key) == (event_id, ODD, ODD)
    assert row.payload == {"text": ODD}
    assert (row.created_at, row.relayed_at) == (at, None)


def test_new_event_ids_are_distinct_version_4_uuids():
    ids = new_event_ids(2000)
    assert len(set(ids)) == 2000
    parsed = [uuid.UUID(value) for value in ids]
    assert {(value.version, value.variant) for value in parsed} == {(4, uuid.RFC_4122)}
