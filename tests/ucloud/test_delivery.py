"""Delivery to a consumer group: inbox dedupe, batches, retries with backoff,
dead letters, and retrying a dead letter."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from django.test import override_settings

from tests.ucloud.eventing import GROUP, OrderEvent, registries_restored, subscribe
from ucloud import delivery
from ucloud.models import DeadLetter, InboxEntry
from ucloud.streams import Event, EventStream

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_registries():
    with registries_restored():
        yield


@pytest.fixture(autouse=True)
def _three_attempts():
    with override_settings(UCLOUD={**settings.UCLOUD, "STREAM_MAX_ATTEMPTS": 3}):
        yield


@pytest.fixture
def orders() -> EventStream:
    return EventStream("test.orders", payload=OrderEvent, key="order_id")


def messages(*order_ids: int, note: str = "") -> list[dict]:
    return [
        Event(
            event_id=str(uuid.uuid4()),
            stream="test.orders",
            key=str(order_id),
            payload={"order_id": order_id, "note": note},
        ).as_message()
        for order_id in order_ids
    ]


POISON = 2


class Shop:
    """Processors of orders that record what they handled; order 2 is poison
    until ``fixed``."""

    def __init__(self) -> None:
        self.handled: list[int] = []
        self.attempts: dict[int, int] = {}
        self.batches: list[list[int]] = []
        self.fixed = False

    def _take(self, event: Event) -> None:
        order_id = event.payload["order_id"]
        self.attempts[order_id] = self.attempts.get(order_id, 0) + 1
        if order_id == POISON and not self.fixed:
            raise ValueError(f"cannot ship order {order_id}")

    def one(self, event: Event) -> None:
        self._take(event)
        self.handled.append(event.payload["order_id"])

    def many(self, events: list[Event]) -> None:
        self.batches.append([event.payload["order_id"] for event in events])
        for event in events:
            self._take(event)
        self.handled.extend(event.payload["order_id"] for event in events)


@pytest.fixture
def shop() -> Shop:
    return Shop()


def test_an_event_delivered_twice_takes_effect_once(orders, shop):
    proc = subscribe(orders, shop.one)
    batch = messages(1, 3)
    assert delivery.deliver(GROUP, batch) == 0
    assert delivery.deliver(GROUP, batch) == 0
    assert shop.handled == [1, 3]
    assert InboxEntry.objects.filter(consumer=proc.id).count() == 2


def test_each_processor_of_a_group_keeps_its_own_inbox(orders, shop):
    billed: list[int] = []

    def bill(event: Event) -> None:
        billed.append(event.payload["order_id"])

    subscribe(orders, shop.one)
    subscribe(orders, bill)
    batch = messages(1)
    delivery.deliver(GROUP, batch)
    delivery.deliver(GROUP, batch)
    assert (shop.handled, billed) == ([1], [1])
    assert InboxEntry.objects.values("consumer").distinct().count() == 2


def test_a_batched_processor_gets_the_whole_batch_as_a_list(orders, shop):
    subscribe(orders, shop.many, batched=True)
    batch = messages(1, 3, 4)
    delivery.deliver(GROUP, batch)
    delivery.deliver(GROUP, batch)
    assert shop.batches == [[1, 3, 4]]


def test_a_redelivered_batch_is_handed_over_without_the_handled_events(orders, shop):
    subscribe(orders, shop.many, batched=True)
    first = messages(1)
    delivery.deliver(GROUP, first)
    delivery.deliver(GROUP, first + messages(3))
    assert shop.batches == [[1], [3]]


def test_events_of_other_streams_and_groups_are_not_delivered(orders, shop):
    subscribe(orders, shop.one, group="accounts")
    assert delivery.deliver(GROUP, messages(1)) == 0
    assert shop.handled == []


def test_a_poison_event_in_a_batch_is_buried_after_max_attempts_and_the_rest_handled(orders, shop):
    proc = subscribe(orders, shop.many, batched=True)
    batch = messages(1, POISON, 3)

    assert delivery.deliver(GROUP, batch) == 1

    assert sorted(shop.handled) == [1, 3]
    handled_ids = set(InboxEntry.objects.values_list("event_id", flat=True))
    assert {str(i) for i in handled_ids} == {batch[0]["event_id"], batch[2]["event_id"]}
    letter = DeadLetter.objects.get()
    assert (letter.consumer, str(letter.event_id)) == (proc.id, batch[1]["event_id"])
    assert (letter.stream, letter.key, letter.payload) == ("test.orders", "2", batch[1]["payload"])
    assert letter.error == "ValueError: cannot ship order 2"
    assert letter.attempts == 3
    assert letter.resolved_at is None


def test_a_failing_event_is_tried_exactly_max_attempts_times(orders, shop):
    subscribe(orders, shop.one)
    assert delivery.deliver(GROUP, messages(POISON, 5)) == 1
    assert shop.attempts == {POISON: 3, 5: 1}
    assert DeadLetter.objects.get().attempts == 3


def test_a_processor_failure_rolls_back_its_inbox_entry(orders, shop):
    subscribe(orders, shop.one)
    delivery.deliver(GROUP, messages(POISON))
    assert InboxEntry.objects.count() == 0


def test_with_a_scheduler_failures_are_rescheduled_with_backoff_not_retried_inline(orders, shop):
    proc = subscribe(orders, shop.one)
    later: list[tuple] = []

    def reschedule(processor_id: str, batch: list[dict], attempt: int, delay: float) -> None:
        later.append((processor_id, [m["key"] for m in batch], attempt, delay))

    with override_settings(
        UCLOUD={**settings.UCLOUD, "STREAM_MAX_ATTEMPTS": 3, "STREAM_RETRY_BACKOFF": 0.5}
    ):
        assert delivery.deliver(GROUP, messages(1, POISON), reschedule=reschedule) == 0
        assert later == [(proc.id, ["2"], 2, 0.5)]
        assert shop.attempts == {1: 1, POISON: 1}
        assert DeadLetter.objects.count() == 0

        # The last attempt (as the rescheduled task runs it) buries the event.
        last = messages(POISON)
        failed = delivery.deliver(
            GROUP, last, processor_id=proc.id, attempt=3, reschedule=reschedule
        )
        assert failed == 1
        assert len(later) == 1
        assert DeadLetter.objects.get().attempts == 3


def test_backoff_doubles_per_attempt_up_to_the_maximum():
    values = {"STREAM_RETRY_BACKOFF": 1.5, "STREAM_RETRY_BACKOFF_MAX": 10.0}
    with override_settings(UCLOUD={**settings.UCLOUD, **values}):
        assert [delivery.backoff(n) for n in range(2, 7)] == [1.5, 3.0, 6.0, 10.0, 10.0]


def test_an_event_buried_twice_stays_one_dead_letter_with_the_latest_failure(orders, shop):
    subscribe(orders, shop.one)
    poison = messages(POISON)
    delivery.deliver(GROUP, poison)
    delivery.deliver(GROUP, poison)
    letter = DeadLetter.objects.get()
    assert letter.attempts == 3
    assert shop.attempts[POISON] == 6


def test_retrying_a_dead_letter_after_the_fix_takes_effect_once_and_resolves_it(orders, shop):
    subscribe(orders, shop.one)
    delivery.deliver(GROUP, messages(POISON))
    letter = DeadLetter.objects.get()
    shop.fixed = True

    assert delivery.retry_dead_letter(letter) is True
    assert shop.handled == [POISON]
    letter.refresh_from_db()
    assert letter.resolved_at is not None

    # A second retry finds the event in the inbox: no second effect.
    assert delivery.retry_dead_letter(letter) is True
    assert shop.handled == [POISON]


def test_retrying_a_dead_letter_that_still_fails_records_the_attempt(orders, shop):
    subscribe(orders, shop.one)
    delivery.deliver(GROUP, messages(POISON))
    letter = DeadLetter.objects.get()

    assert delivery.retry_dead_letter(letter) is False
    letter.refresh_from_db()
    assert (letter.attempts, letter.resolved_at) == (4, None)
    assert letter.error == "ValueError: cannot ship order 2"


def test_retrying_a_dead_letter_of_a_batched_processor_hands_it_a_list(orders, shop):
    subscribe(orders, shop.many, batched=True)
    delivery.deliver(GROUP, messages(POISON))
    shop.fixed = True
    assert delivery.retry_dead_letter(DeadLetter.objects.get()) is True
    assert shop.batches[-1] == [POISON]
    assert shop.handled == [POISON]
