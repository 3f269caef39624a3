"""The stream consumer against a real Redis: partitions shared by the
consumers of a group, takeover of what a dead consumer left pending,
acknowledgement only after the processors' transaction, retries that keep
the order of a partition, new groups, bad payloads and database outages.

The consumers are stepped by the test (``step()``) rather than run on
threads, so that every read and write happens in the test's own thread.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

import pytest
import redis
from django.db import OperationalError, transaction

from tests.ucloud.events.eventing import order, subscribe
from tests.ucloud.events.streaming import PARTITIONS, events_on, forget, unique
from ucloud.events import broker
from ucloud.events.consumer import GroupConsumer
from ucloud.events.leases import lease_key, presence_key
from ucloud.events.streams import Event, EventStream, partition_of
from ucloud.models import DeadLetter, InboxEntry

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

QUICK = {"STREAM_BLOCK": 0.02, "STREAM_RETRY_BACKOFF": 0.05, "STREAM_MAX_ATTEMPTS": 3}


@pytest.fixture
def group(redis_url) -> Iterator[str]:
    name = unique("testgroup").replace(".", "_")
    yield name
    forget(redis_url, name)


@pytest.fixture
def orders(streamed_orders: EventStream) -> EventStream:
    return streamed_orders


@pytest.fixture
def events_redis(redis_url):
    with events_on(redis_url, **QUICK):
        yield redis.Redis.from_url(redis_url)


def produce(stream: EventStream, *payloads: dict) -> None:
    with transaction.atomic():
        stream.produce_many(list(payloads))


def consumer_of(group: str, client: redis.Redis, name: str) -> GroupConsumer:
    return GroupConsumer(group, client=client, name=name)


def step_until(done: Callable[[], bool], *consumers: GroupConsumer, steps: int = 400) -> None:
    for _ in range(steps):
        if done():
            return
        for consumer in consumers:
            consumer.step()
    assert done(), "the consumers did not get there"


def pending_count(client: redis.Redis, stream: EventStream, group: str) -> int:
    total = 0
    for key in broker.partition_keys(stream.name):
        # (No such group on a partition yet: nothing pending there.)
        with contextlib.suppress(redis.ResponseError):
            total += int(client.xpending(key, group)["pending"])
    return total


def test_each_event_is_processed_once_and_acknowledged_after_its_transaction(
    orders, group, events_redis
):
    seen: list[int] = []
    proc = subscribe(orders, lambda event: seen.append(event.payload["order_id"]), group=group)
    produce(orders, *(order(n) for n in range(20)))
    consumer = consumer_of(group, events_redis, "c1")

    step_until(lambda: len(seen) == 20, consumer)
    step_until(lambda: pending_count(events_redis, orders, group) == 0, consumer)

    assert sorted(seen) == list(range(20))
    assert InboxEntry.objects.filter(consumer=proc.id).count() == 20
    assert consumer.leases.held == set(range(PARTITIONS))


def test_consumers_of_a_group_share_its_partitions(orders, group, events_redis):
    subscribe(orders, lambda event: None, group=group)
    first, second = consumer_of(group, events_redis, "c1"), consumer_of(group, events_redis, "c2")
    first.step()
    assert first.leases.held == set(range(PARTITIONS))
    step_until(lambda: len(second.leases.held) == PARTITIONS // 2, second, first)
    assert first.leases.held | second.leases.held == set(range(PARTITIONS))
    assert not first.leases.held & second.leases.held


def test_what_a_dead_consumer_left_pending_is_taken_over_and_processed_once(
    orders, group, events_redis
):
    seen: list[int] = []
    subscribe(orders, lambda event: seen.append(event.payload["order_id"]), group=group)
    dying = consumer_of(group, events_redis, "dying")
    dying.step()  # leases every partition and creates the group
    produce(orders, *(order(n) for n in range(12)))
    # It reads the entries (now pending for it) and dies before processing.
    for _ in range(5):
        dying._read_or_wait(time.monotonic())
    assert pending_count(events_redis, orders, group) == 12
    assert seen == []
    for partition in range(PARTITIONS):  # its leases and its presence expire
        events_redis.delete(lease_key(group, partition))
    events_redis.zrem(presence_key(group), "dying")

    heir = consumer_of(group, events_redis, "heir")
    step_until(lambda: len(seen) == 12, heir)
    step_until(lambda: pending_count(events_redis, orders, group) == 0, heir)
    assert sorted(seen) == list(range(12))


def test_a_failed_event_stays_pending_holds_its_partition_and_succeeds_later(
    orders, group, events_redis
):
    done: list[tuple[int, str]] = []
    broken = {"note": "first"}

    def ship(event: Event) -> None:
        if event.payload["note"] == broken["note"]:
            raise RuntimeError("not yet")
        done.append((event.payload["order_id"], event.payload["note"]))

    subscribe(orders, ship, group=group)
    consumer = consumer_of(group, events_redis, "c1")
    consumer.step()
    other = next(
        n for n in range(2, 50) if partition_of(str(n), PARTITIONS) != partition_of("1", 4)
    )
    produce(orders, order(1, note="first"), order(1, note="second"), order(other, note="x"))

    step_until(lambda: (other, "x") in done and consumer.attempts, consumer)
    assert done == [(other, "x")]  # the other partition went on
    assert pending_count(events_redis, orders, group) == 2  # both of key 1, unacknowledged
    [failed] = consumer.attempts.values()
    assert failed == 1
    assert events_redis.hlen(broker.attempts_key(group)) == 1

    broken["note"] = None
    step_until(lambda: len(done) == 3, consumer)
    assert done == [(other, "x"), (1, "first"), (1, "second")]
    step_until(lambda: pending_count(events_redis, orders, group) == 0, consumer)
    assert events_redis.hlen(broker.attempts_key(group)) == 0


def test_an_event_failing_every_attempt_becomes_a_dead_letter_and_is_acknowledged(
    orders, group, events_redis
):
    def refuse(event: Event) -> None:
        raise ValueError("no")

    proc = subscribe(orders, refuse, group=group)
    consumer = consumer_of(group, events_redis, "c1")
    consumer.step()
    produce(orders, order(3))
    step_until(lambda: DeadLetter.objects.exists(), consumer)
    letter = DeadLetter.objects.get()
    assert (letter.consumer, letter.attempts, letter.error) == (proc.id, 3, "ValueError: no")
    step_until(lambda: pending_count(events_redis, orders, group) == 0, consumer)


def test_a_payload_the_serializer_refuses_is_dead_lettered_at_the_first_attempt(
    orders, group, events_redis
):
    proc = subscribe(orders, lambda event: None, group=group)
    consumer = consumer_of(group, events_redis, "c1")
    consumer.step()
    events_redis.xadd(
        broker.stream_key(orders.name, partition_of("5", PARTITIONS)),
        {"id": "6c1f5e8a-2d4b-4f6a-9c3e-7b8a9d0e1f2a", "key": "5", "at": "", "payload": '{"x":1}'},
    )
    step_until(lambda: DeadLetter.objects.exists(), consumer)
    letter = DeadLetter.objects.get()
    assert (letter.consumer, letter.attempts) == (proc.id, 1)
    assert letter.error.startswith("InvalidEvent: ")
    step_until(lambda: pending_count(events_redis, orders, group) == 0, consumer)


def test_an_entry_that_is_no_event_of_the_kit_is_dropped_and_holds_nothing_back(
    orders, group, events_redis, caplog
):
    handled: list[int] = []
    subscribe(orders, lambda event: handled.append(event.payload["order_id"]), group=group)
    consumer = consumer_of(group, events_redis, "c1")
    consumer.step()
    # Someone else's entry on the partition of key 5, before an event of key 5.
    events_redis.xadd(
        broker.stream_key(orders.name, partition_of("5", PARTITIONS)),
        {"event": '{"order_id": 5}\nnot-a-uuid|||5'},
    )
    produce(orders, order(5))

    step_until(lambda: handled == [5], consumer)
    step_until(lambda: pending_count(events_redis, orders, group) == 0, consumer)
    assert not DeadLetter.objects.exists()
    assert "no event of the kit (event id 'not-a-uuid')" in caplog.text


def test_a_database_outage_counts_no_attempt_and_the_event_is_delivered_after_it(
    orders, group, events_redis
):
    down = {"yes": True}
    handled: list[int] = []

    def write(event: Event) -> None:
        if down["yes"]:
            raise OperationalError("connection refused")
        handled.append(event.payload["order_id"])

    subscribe(orders, write, group=group)
    consumer = consumer_of(group, events_redis, "c1")
    consumer.step()
    produce(orders, order(8))
    for _ in range(30):
        consumer.step()
    assert handled == []
    assert pending_count(events_redis, orders, group) == 1
    assert events_redis.hlen(broker.attempts_key(group)) == 0
    assert not DeadLetter.objects.exists()
    down["yes"] = False
    step_until(lambda: handled == [8], consumer)


def test_a_new_group_starts_from_the_beginning_or_from_now_as_its_processors_ask(
    orders, group, events_redis
):
    produce(orders, order(1), order(2))
    old: list[int] = []
    new: list[int] = []
    subscribe(orders, lambda event: old.append(event.payload["order_id"]), group=group)
    late_group = f"{group}_late"
    subscribe(orders, lambda event: new.append(event.payload["order_id"]), group=late_group,
              start="now")  # fmt: skip
    everything = consumer_of(group, events_redis, "c1")
    from_now = consumer_of(late_group, events_redis, "c2")
    step_until(lambda: len(old) == 2, everything, from_now)
    produce(orders, order(3))
    step_until(lambda: len(old) == 3 and len(new) == 1, everything, from_now)
    assert sorted(old) == [1, 2, 3]
    assert new == [3]  # (the group fixture's cleanup covers late_group's keys too)
