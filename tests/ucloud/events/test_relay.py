"""The relay with Redis: outbox rows appended to the partition of their key
in produced order, after commit, on the background thread or in the commit
hook; a Redis that is down leaves them pending; the sweep, limits, pruning."""

from __future__ import annotations

import datetime
import threading
import uuid

import pytest
import redis
from django.conf import settings
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from tests.ucloud.events.eventing import order, pending, subscribe
from tests.ucloud.events.streaming import entries, events_on
from ucloud.events import relay
from ucloud.events.relay import background_relay
from ucloud.events.streams import Event, EventStream, partition_of
from ucloud.models import InboxEntry, OutboxEvent

pytestmark = pytest.mark.redis


@pytest.fixture
def orders(streamed_orders: EventStream) -> EventStream:
    return streamed_orders


@pytest.fixture
def handled_here(orders) -> list[Event]:
    """What a processor of ``orders`` ran in this process (with Redis: nothing)."""
    events: list[Event] = []
    subscribe(orders, events.append)
    return events


def keys_and_numbers(found: list) -> list[tuple[str, int]]:
    return [(received.key, received.payload["order_id"]) for _, received in found]


@pytest.mark.django_db
def test_events_go_to_the_partition_of_their_key_in_produced_order(
    orders, handled_here, redis_url, django_capture_on_commit_callbacks
):
    produced = [order(1), order(2, note="a"), order(1, note="b"), order(5), order(1, note="c")]
    with (
        events_on(redis_url),
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
    ):
        orders.produce_many(produced)
        assert (
            sum(len(found) for found in entries(orders, redis_url).values()) == 0
        )  # not before commit
    by_partition = entries(orders, redis_url)
    for key in ("1", "2", "5"):
        mine = [item for item in by_partition[partition_of(key, 4)] if item[1].key == key]
        assert [r.payload["note"] for _, r in mine] == [
            p.get("note", "") for p in produced if str(p["order_id"]) == key
        ]
    rows = list(OutboxEvent.objects.order_by("id"))
    assert all(row.relayed_at is not None for row in rows)
    appended = {r.event_id: r for found in by_partition.values() for _, r in found}
    assert set(appended) == {str(row.event_id) for row in rows}
    first = appended[str(rows[0].event_id)]
    assert first.payload == rows[0].payload
    assert first.produced_at == rows[0].created_at
    assert handled_here == []  # the group's consumers process them, not the producer


@pytest.mark.django_db
def test_a_redis_that_is_down_leaves_events_pending_without_failing_the_commit(
    orders, handled_here, redis_url, closed_port, django_capture_on_commit_callbacks
):
    down = f"redis://127.0.0.1:{closed_port}/0"
    with events_on(down):
        with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
            orders.produce_many([order(1), order(2)])
        assert len(callbacks) == 1  # the relay ran, failed, and was swallowed
        assert [row.key for row in pending()] == ["1", "2"]
        # Called directly, the same relay shows why the rows stayed.
        with pytest.raises(redis.ConnectionError):
            relay.relay_pending()
    with events_on(redis_url):  # Redis is back: the sweep relays them
        assert relay.sweep() == 2
    assert pending() == []
    assert sorted(
        keys_and_numbers([e for f in entries(orders, redis_url).values() for e in f])
    ) == [
        ("1", 1),
        ("2", 2),
    ]


@pytest.mark.django_db(transaction=True)
def test_the_background_relay_appends_after_commit_on_its_own_thread(
    orders, redis_url, monkeypatch
):
    threads = []
    real = relay.relay_pending

    def recording(**kwargs):
        threads.append(threading.current_thread().name)
        return real(**kwargs)

    monkeypatch.setattr(relay, "relay_pending", recording)
    with events_on(redis_url, RELAY_IN_BACKGROUND=True):
        with transaction.atomic():
            orders.produce_many([order(1), order(2)])
        # SQLite's shared in-memory test database fails a table lock at once
        # instead of waiting: do not overlap the relay thread's transaction.
        assert background_relay.flush(timeout=10)
        with transaction.atomic():
            orders.produce(order(3))
        assert background_relay.flush(timeout=10)
    appended = [e for found in entries(orders, redis_url).values() for e in found]
    assert sorted(r.payload["order_id"] for _, r in appended) == [1, 2, 3]
    assert pending() == []
    assert set(threads) == {"ucloud-relay"}


@pytest.mark.django_db
def test_relay_appends_every_pending_row_in_batches_of_the_batch_size(orders, redis_url):
    OutboxEvent.objects.bulk_create(
        OutboxEvent(stream=orders.name, key="7", payload={"order_id": n}) for n in range(5)
    )
    with events_on(redis_url, STREAM_BATCH_SIZE=2):
        assert relay.relay_pending() == 5
    assert [r.payload["order_id"] for _, r in entries(orders, redis_url)[partition_of("7", 4)]] == [
        0,
        1,
        2,
        3,
        4,
    ]
    assert pending() == []


@pytest.mark.django_db
def test_relay_limit_relays_the_oldest_rows_only(orders, redis_url):
    OutboxEvent.objects.bulk_create(
        OutboxEvent(stream=orders.name, key=str(n), payload={"order_id": n}) for n in range(4)
    )
    with events_on(redis_url):
        assert relay.relay_pending(limit=3) == 3
    assert [row.key for row in pending()] == ["3"]


@pytest.mark.django_db
def test_the_sweep_relays_only_rows_older_than_min_age(orders, redis_url):
    old, _ = OutboxEvent.objects.bulk_create(
        [
            OutboxEvent(stream=orders.name, key="old", payload={"order_id": 1}),
            OutboxEvent(stream=orders.name, key="new", payload={"order_id": 2}),
        ]
    )
    OutboxEvent.objects.filter(id=old.id).update(
        created_at=timezone.now() - datetime.timedelta(seconds=60)
    )
    with events_on(redis_url):
        assert relay.relay_pending(min_age=30) == 1
    assert [row.key for row in pending()] == ["new"]


@pytest.mark.django_db
def test_prune_deletes_only_old_relayed_rows_and_old_inbox_entries():
    now = timezone.now()
    long_ago = now - datetime.timedelta(hours=2)
    old_relayed, recent_relayed, old_pending = OutboxEvent.objects.bulk_create(
        OutboxEvent(stream="test.orders", key=key, payload={})
        for key in ("old-relayed", "recent-relayed", "old-pending")
    )
    OutboxEvent.objects.filter(id=old_relayed.id).update(relayed_at=long_ago)
    OutboxEvent.objects.filter(id=recent_relayed.id).update(relayed_at=now)
    OutboxEvent.objects.filter(id=old_pending.id).update(created_at=long_ago)
    old_entry, recent_entry = InboxEntry.objects.bulk_create(
        InboxEntry(consumer="notifications:x", event_id=uuid.uuid4()) for _ in range(2)
    )
    InboxEntry.objects.filter(id=old_entry.id).update(handled_at=long_ago)

    retention = {**settings.UCLOUD, "OUTBOX_RETENTION": 3600, "INBOX_RETENTION": 3600}
    with override_settings(UCLOUD=retention):
        assert relay.prune() == (1, 1)

    assert set(OutboxEvent.objects.values_list("key", flat=True)) == {
        "recent-relayed",
        "old-pending",
    }
    assert list(InboxEntry.objects.values_list("id", flat=True)) == [recent_entry.id]
