"""Large batches reach the outbox through PostgreSQL's COPY: the same rows,
in the same transaction, as the ORM path writes."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from apps.files.api import files_events
from apps.notifications.models import Notification
from tests.conftest import require
from ucloud.events.copying import COPY_THRESHOLD
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
