"""Eager delivery (no Redis): the producing process hands committed events to
the consumer groups it serves, first attempt after commit, retries later on
the background thread, in order per key; groups it does not serve wait.

While the relay thread retries, the tests wait on what the processors
recorded in memory, then for the thread to be idle, and only then read the
database: SQLite's shared in-memory test database fails a table lock at once
instead of waiting, so the two threads must not overlap.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.conf import settings
from django.db import transaction
from django.test import override_settings

from tests.ucloud.events.eventing import OrderEvent, order, pending, subscribe
from tests.ucloud.events.streaming import entries, events_on, forget, unique
from ucloud.events import relay
from ucloud.events.relay import background_relay
from ucloud.events.streams import Event, EventStream
from ucloud.models import DeadLetter, OutboxEvent

pytestmark = pytest.mark.django_db(transaction=True)


def ucloud_with(**values) -> dict:
    return {**settings.UCLOUD, "EVENTS_EAGER": True, **values}


@pytest.fixture(autouse=True)
def _eager_with_quick_retries():
    values = {"STREAM_MAX_ATTEMPTS": 3, "STREAM_RETRY_BACKOFF": 0.05}
    with override_settings(UCLOUD=ucloud_with(**values)):
        yield


@pytest.fixture
def received(orders) -> list[Event]:
    events: list[Event] = []
    subscribe(orders, events.append)
    return events


def wait_for(done, what: str, timeout: float = 10.0) -> None:
    """Until ``done()`` (which must not touch the database), then until the
    relay thread is idle."""
    give_up = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < give_up, f"gave up waiting for {what}"
        time.sleep(0.01)
    assert background_relay.flush(timeout=timeout)


def test_processors_run_after_commit_with_the_validated_json_payload(orders, received):
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
    assert row.eager_done_at is not None


def test_every_served_consumer_group_gets_every_event(orders, received):
    other: list[str] = []
    subscribe(orders, lambda event: other.append(event.key), group="accounts")
    with transaction.atomic():
        orders.produce_many([order(1), order(2)])
    assert [event.key for event in received] == ["1", "2"]
    assert other == ["1", "2"]


def test_a_failure_is_retried_off_the_request_and_dead_lettered_after_the_last_attempt(
    orders, received
):
    threads: list[str] = []

    def explode(event: Event) -> None:
        threads.append(threading.current_thread().name)
        raise RuntimeError("processor bug")

    subscribe(orders, explode)
    with transaction.atomic():
        orders.produce(order(1))
    # The request saw one attempt; the others run later on the relay thread.
    assert threads == [threading.current_thread().name]
    wait_for(lambda: len(threads) == 3, "the retries")
    assert threads[1:] == ["ucloud-relay", "ucloud-relay"]
    letter = DeadLetter.objects.get()
    assert (letter.key, letter.error, letter.attempts) == ("1", "RuntimeError: processor bug", 3)
    assert pending() == []
    assert [event.key for event in received] == ["1"]  # the other processor: once


def test_a_failed_event_holds_back_the_later_events_of_its_key_only(orders):
    done: list[tuple[str, str]] = []
    broken = {"yes": True}

    def ship(event: Event) -> None:
        if event.payload["note"] == "first" and broken["yes"]:
            raise RuntimeError("not yet")
        done.append((event.key, event.payload["note"]))

    subscribe(orders, ship)
    with transaction.atomic():
        orders.produce_many(
            [order(1, note="first"), order(2, note="other"), order(1, note="second")]
        )
    assert done == [("2", "other")]
    broken["yes"] = False
    wait_for(lambda: len(done) == 3, "the held events")
    assert done == [("2", "other"), ("1", "first"), ("1", "second")]


def test_groups_not_served_here_wait_in_the_outbox_for_a_broker(orders, received, redis_url):
    name = unique("test.shared")
    shared = EventStream(name, payload=OrderEvent, key="order_id")
    here: list[str] = []
    subscribe(shared, lambda event: here.append(event.key), group="files")
    subscribe(shared, received.append, group="notifications")
    try:
        with override_settings(UCLOUD=ucloud_with(SERVICES=["files"])):
            with transaction.atomic():
                shared.produce(order(4))
            assert here == ["4"]
            assert received == []  # notifications is not served by this process
            row = OutboxEvent.objects.get()
            assert row.eager_done_at is not None
            assert row.relayed_at is None
            # Later passes leave it alone: it is done here.
            assert relay.relay_pending() == 0
        with events_on(redis_url):  # a broker is configured: the relay sends it
            assert relay.relay_pending() == 1
        [event] = [r for found in entries(shared, redis_url).values() for _, r in found]
        assert event.event_id == str(row.event_id)
    finally:
        forget(redis_url, name)


def test_rows_of_a_stream_nobody_consumes_are_marked_relayed():
    OutboxEvent.objects.create(stream="test.unheard", key="1", payload={})
    EventStream("test.unheard", payload=OrderEvent, key="order_id")
    relay.relay_pending()
    assert pending() == []


def test_background_relay_is_idle_after_the_retries(orders):
    attempts = []

    def always_failing(event: Event) -> None:
        attempts.append(event.event_id)
        raise ValueError("always")

    subscribe(orders, always_failing)
    with transaction.atomic():
        orders.produce(order(1))
    wait_for(lambda: len(attempts) == 3, "the last attempt")
    assert DeadLetter.objects.count() == 1
    time.sleep(0.2)  # longer than any backoff left: nothing runs again
    assert len(attempts) == 3
