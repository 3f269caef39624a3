"""The relay: eager delivery after commit, publishing to the broker (Redis),
the sweep of old pending rows, batching, and pruning."""

from __future__ import annotations

import base64
import datetime
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from kombu.exceptions import OperationalError

from config.celery import app as celery_app
from tests.ucloud.eventing import OrderEvent, order, pending, registries_restored, subscribe
from ucloud import relay
from ucloud.models import DeadLetter, InboxEntry, OutboxEvent
from ucloud.streams import Event, EventStream


@pytest.fixture(autouse=True)
def _own_registries():
    with registries_restored():
        yield


@pytest.fixture
def orders() -> EventStream:
    return EventStream("test.orders", payload=OrderEvent, key="order_id")


@pytest.fixture
def received(orders) -> list[Event]:
    """Events a processor of ``orders`` (group ``notifications``) received."""
    events: list[Event] = []

    def remember(event: Event) -> None:
        events.append(event)

    subscribe(orders, remember)
    return events


def ucloud_with(**values) -> dict:
    return {**settings.UCLOUD, **values}


# --- eager (embedded) delivery ------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_eager_delivery_runs_processors_after_commit_with_the_json_payload(orders, received):
    with transaction.atomic():
        orders.produce(order(7))
        assert received == []
    row = OutboxEvent.objects.get()
    [event] = received
    assert event.payload == {
        "order_id": 7,
        "amount": "12.50",
        "placed_at": "2026-01-02T03:04:05Z",
        "note": "",
    }
    assert (event.event_id, event.stream, event.key) == (str(row.event_id), "test.orders", "7")
    assert event.produced_at == row.created_at
    assert row.relayed_at is not None


@pytest.mark.django_db(transaction=True)
def test_every_consumer_group_gets_every_event(orders, received):
    other: list[str] = []

    def audit(event: Event) -> None:
        other.append(event.key)

    subscribe(orders, audit, group="accounts")
    with transaction.atomic():
        orders.produce_many([order(1), order(2)])
    assert [event.key for event in received] == ["1", "2"]
    assert other == ["1", "2"]


@pytest.mark.django_db(transaction=True)
def test_a_failing_processor_does_not_fail_the_producer_in_eager_mode(orders, received):
    def explode(event: Event) -> None:
        raise RuntimeError("processor bug")

    subscribe(orders, explode)
    with override_settings(UCLOUD=ucloud_with(STREAM_MAX_ATTEMPTS=1)), transaction.atomic():
        orders.produce(order(1))
    assert [event.key for event in received] == ["1"]
    assert pending() == []
    letter = DeadLetter.objects.get()
    assert (letter.key, letter.error) == ("1", "RuntimeError: processor bug")


@pytest.mark.django_db
def test_relay_sends_at_most_a_batch_size_of_events_per_delivery(orders):
    sizes: list[int] = []

    def count(events: list[Event]) -> None:
        sizes.append(len(events))

    subscribe(orders, count, batched=True)
    OutboxEvent.objects.bulk_create(
        OutboxEvent(stream="test.orders", key=str(n), payload={"order_id": n}) for n in range(5)
    )
    with override_settings(UCLOUD=ucloud_with(STREAM_BATCH_SIZE=2)):
        assert relay.relay_pending() == 5
    assert sizes == [2, 2, 1]
    assert pending() == []


@pytest.mark.django_db
def test_relay_limit_relays_the_oldest_rows_only(orders, received):
    OutboxEvent.objects.bulk_create(
        OutboxEvent(stream="test.orders", key=str(n), payload={"order_id": n}) for n in range(4)
    )
    assert relay.relay_pending(limit=3) == 3
    assert [event.key for event in received] == ["0", "1", "2"]
    assert [row.key for row in pending()] == ["3"]


@pytest.mark.django_db
def test_the_sweep_relays_only_rows_older_than_min_age(orders, received):
    old, _ = OutboxEvent.objects.bulk_create(
        [
            OutboxEvent(stream="test.orders", key="old", payload={"order_id": 1}),
            OutboxEvent(stream="test.orders", key="new", payload={"order_id": 2}),
        ]
    )
    OutboxEvent.objects.filter(id=old.id).update(
        created_at=timezone.now() - datetime.timedelta(seconds=60)
    )
    assert relay.relay_pending(min_age=30) == 1
    assert [event.key for event in received] == ["old"]
    assert [row.key for row in pending()] == ["new"]


@pytest.mark.django_db
def test_rows_of_a_stream_nobody_consumes_are_marked_relayed():
    OutboxEvent.objects.create(stream="test.unheard", key="1", payload={})
    assert relay.relay_pending() == 1
    assert pending() == []


# --- pruning -------------------------------------------------------------------


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

    with override_settings(UCLOUD=ucloud_with(OUTBOX_RETENTION=3600, INBOX_RETENTION=3600)):
        assert relay.prune() == (1, 1)

    assert set(OutboxEvent.objects.values_list("key", flat=True)) == {
        "recent-relayed",
        "old-pending",
    }
    assert list(InboxEntry.objects.values_list("id", flat=True)) == [recent_entry.id]


# --- publishing to the broker --------------------------------------------------


@contextmanager
def broker(url: str, *, key_prefix: str, background: bool = False) -> Iterator[None]:
    """Broker mode against ``url``; Redis keys get ``key_prefix`` so that
    workers of other test runs on the same Redis never see these messages.
    ``background=False`` publishes in the commit hook, where the test's
    transaction-wrapped database is visible."""
    options = {**settings.CELERY_BROKER_TRANSPORT_OPTIONS, "global_keyprefix": key_prefix}
    with override_settings(
        UCLOUD=ucloud_with(EVENTS_EAGER=False, RELAY_IN_BACKGROUND=background),
        CELERY_BROKER_URL=url,
        CELERY_TASK_ALWAYS_EAGER=False,
        CELERY_BROKER_TRANSPORT_OPTIONS=options,
    ):
        _drop_broker_connections()
        try:
            yield
        finally:
            _drop_broker_connections()


def _drop_broker_connections() -> None:
    # Celery caches its connection pools per app; they must follow the URL.
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def redis_prefix(redis_url) -> Iterator[str]:
    import redis

    prefix = f"test-relay-{uuid.uuid4().hex}:"
    yield prefix
    connection = redis.Redis.from_url(redis_url)
    for name in connection.scan_iter(match=f"{prefix}*"):
        connection.delete(name)
    connection.close()


@pytest.mark.redis
@pytest.mark.django_db
def test_broker_mode_publishes_one_message_with_the_batch_to_the_group_queue(
    orders, received, redis_url, redis_prefix, django_capture_on_commit_callbacks
):
    import redis

    with (
        broker(redis_url, key_prefix=redis_prefix),
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
    ):
        orders.produce_many([order(1), order(2), order(3)])

    connection = redis.Redis.from_url(redis_url)
    raw = connection.lrange(f"{redis_prefix}ucloud.notifications", 0, -1)
    connection.close()
    assert len(raw) == 1
    message = json.loads(raw[0])
    assert message["headers"]["task"] == "ucloud.deliver_events"
    args, _, _ = json.loads(base64.b64decode(message["body"]))
    group, messages = args
    assert group == "notifications"
    rows = list(OutboxEvent.objects.order_by("id"))
    assert [m["event_id"] for m in messages] == [str(row.event_id) for row in rows]
    assert [m["payload"]["order_id"] for m in messages] == [1, 2, 3]
    assert all(row.relayed_at is not None for row in rows)
    assert received == []  # a worker of the group will process them, not us


@pytest.mark.django_db
def test_a_broker_that_is_down_leaves_events_pending_without_failing_the_commit(
    orders, received, closed_port, django_capture_on_commit_callbacks
):
    url = f"redis://127.0.0.1:{closed_port}/0"
    with broker(url, key_prefix="unused:"):
        with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
            orders.produce_many([order(1), order(2)])
        assert len(callbacks) == 1  # the kick ran, failed, and was swallowed
        assert [row.key for row in pending()] == ["1", "2"]
        # Called directly, the same relay shows why the rows stayed.
        with pytest.raises(OperationalError, match="onnect"):
            relay.relay_pending()
    assert received == []
    # Once the broker is back (here: eager mode), the sweep relays them.
    assert relay.relay_pending() == 2
    assert [event.key for event in received] == ["1", "2"]


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_background_relay_publishes_after_commit_without_the_request_waiting(
    orders, received, redis_url, redis_prefix, monkeypatch
):
    import threading

    import redis

    from ucloud.outbox import background_relay

    relaying_threads = []
    relay_pending = relay.relay_pending

    def recording_relay_pending(**kwargs):
        relaying_threads.append(threading.current_thread().name)
        return relay_pending(**kwargs)

    monkeypatch.setattr(relay, "relay_pending", recording_relay_pending)

    with broker(redis_url, key_prefix=redis_prefix, background=True):
        with transaction.atomic():
            orders.produce_many([order(1), order(2)])
        # The test database is SQLite's shared in-memory cache when not
        # PostgreSQL: a table lock there fails at once instead of waiting,
        # so the next transaction must not overlap the relay thread's.
        assert background_relay.flush(timeout=10)
        with transaction.atomic():
            orders.produce(order(3))
        assert background_relay.flush(timeout=10)

    connection = redis.Redis.from_url(redis_url)
    raw = connection.lrange(f"{redis_prefix}ucloud.notifications", 0, -1)
    connection.close()
    published = []
    for item in raw:
        args, _, _ = json.loads(base64.b64decode(json.loads(item)["body"]))
        published += [message["payload"]["order_id"] for message in args[1]]
    # Both commits' events are on the queue once.
    assert sorted(published) == [1, 2, 3]
    assert pending() == []
    assert received == []
    assert relaying_threads
    assert set(relaying_threads) == {"ucloud-relay"}
