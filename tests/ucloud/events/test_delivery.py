"""Delivery to a consumer group: validation on the consumer side, inbox
dedupe, batches, order per key across failures, dead letters, and retrying
a dead letter."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import OperationalError
from django.test import override_settings
from rest_framework import serializers

from tests.ucloud.events.eventing import (
    GROUP,
    OrderEvent,
    deliver_until_settled,
    order,
    received,
    subscribe,
)
from ucloud.events import delivery
from ucloud.events.delivery import Received, deliver
from ucloud.events.streams import Event, EventStream
from ucloud.models import DeadLetter, InboxEntry

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _three_attempts():
    with override_settings(UCLOUD={**settings.UCLOUD, "STREAM_MAX_ATTEMPTS": 3}):
        yield


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
    batch = received(orders, order(1), order(3))
    first = deliver(GROUP, orders, batch, attempts={})
    second = deliver(GROUP, orders, batch, attempts={})
    assert first.done == second.done == [event.event_id for event in batch]
    assert shop.handled == [1, 3]
    assert InboxEntry.objects.filter(consumer=proc.id).count() == 2


def test_processors_get_the_payload_validated_in_json_form_without_unknown_fields(orders):
    seen: list[dict] = []
    subscribe(orders, lambda event: seen.append(event.payload))
    newer_producer = Received("3f1c0a51-9e7e-4c55-a7c0-1f2a9d1e2b3c", "7", {
        "order_id": 7, "amount": "3.5", "placed_at": "2026-01-02T03:04:05Z",
        "coupon": "NEW-FIELD",
    })  # fmt: skip
    outcome = deliver(GROUP, orders, [newer_producer], attempts={})
    assert outcome.done == [newer_producer.event_id]
    assert seen == [
        {"order_id": 7, "amount": "3.50", "placed_at": "2026-01-02T03:04:05Z", "note": ""}
    ]


def test_a_payload_that_fails_validation_is_a_dead_letter_at_once_with_the_field_errors(
    orders, shop
):
    proc = subscribe(orders, shop.one)
    bad = Received("0b7e6f0e-3a64-4a3c-9c43-5a8f0f4b8e21", "9", {"order_id": "nine"})
    good = received(orders, order(10))[0]
    outcome = deliver(GROUP, orders, [bad, good], attempts={})
    assert outcome.done == [bad.event_id, good.event_id]
    assert outcome.failed == []
    assert shop.handled == [10]
    letter = DeadLetter.objects.get()
    assert (letter.consumer, str(letter.event_id), letter.attempts) == (proc.id, bad.event_id, 1)
    assert letter.error.startswith("InvalidEvent: ")
    assert "order_id" in letter.error
    assert "amount" in letter.error
    assert "placed_at" in letter.error


def test_each_processor_of_a_group_keeps_its_own_inbox(orders, shop):
    billed: list[int] = []

    def bill(event: Event) -> None:
        billed.append(event.payload["order_id"])

    subscribe(orders, shop.one)
    subscribe(orders, bill)
    batch = received(orders, order(1))
    deliver(GROUP, orders, batch, attempts={})
    deliver(GROUP, orders, batch, attempts={})
    assert (shop.handled, billed) == ([1], [1])
    assert InboxEntry.objects.values("consumer").distinct().count() == 2


def test_a_batched_processor_gets_the_whole_batch_as_a_list(orders, shop):
    subscribe(orders, shop.many, batched=True)
    batch = received(orders, order(1), order(3), order(4))
    deliver(GROUP, orders, batch, attempts={})
    deliver(GROUP, orders, batch, attempts={})
    assert shop.batches == [[1, 3, 4]]


def test_a_redelivered_batch_is_handed_over_without_the_handled_events(orders, shop):
    subscribe(orders, shop.many, batched=True)
    first = received(orders, order(1))
    deliver(GROUP, orders, first, attempts={})
    deliver(GROUP, orders, first + received(orders, order(3)), attempts={})
    assert shop.batches == [[1], [3]]


def test_events_of_other_groups_are_not_delivered(orders, shop):
    subscribe(orders, shop.one, group="accounts")
    outcome = deliver(GROUP, orders, received(orders, order(1)), attempts={})
    assert shop.handled == []
    assert len(outcome.done) == 1  # nothing of this group subscribes: acknowledged


def test_a_failure_holds_back_the_later_events_of_its_key_only(orders, shop):
    subscribe(orders, shop.one)
    batch = received(orders, order(1), order(POISON), order(3), order(POISON, note="later"))
    outcome = deliver(GROUP, orders, batch, attempts={})
    assert [f.event.event_id for f in outcome.failed] == [batch[1].event_id]
    assert [event.event_id for event in outcome.held] == [batch[3].event_id]
    assert outcome.done == [batch[0].event_id, batch[2].event_id]
    assert shop.handled == [1, 3]


def test_on_an_unordered_stream_a_failure_holds_back_nothing(shop):
    loose = EventStream("test.loose", payload=OrderEvent, key="order_id", ordered=False)
    subscribe(loose, shop.one)
    batch = received(loose, order(POISON), order(POISON, note="later"), order(5))
    outcome = deliver(GROUP, loose, batch, attempts={})
    assert outcome.held == []
    assert {f.event.event_id for f in outcome.failed} == {batch[0].event_id, batch[1].event_id}
    assert outcome.done == [batch[2].event_id]


def test_order_per_key_holds_across_retries_until_the_failed_event_succeeds(orders, shop):
    subscribe(orders, shop.one)
    batch = received(orders, order(POISON), order(POISON, note="second"), order(8))
    outcome = deliver(GROUP, orders, batch, attempts={})
    assert shop.handled == [8]
    shop.fixed = True
    retry = [batch[0], *[e for e in batch if e.event_id in {h.event_id for h in outcome.held}]]
    deliver(GROUP, orders, retry, attempts={batch[0].event_id: 1})
    assert shop.handled == [8, POISON, POISON]


def test_a_poison_event_in_a_batch_is_buried_after_max_attempts_and_the_rest_handled(orders, shop):
    proc = subscribe(orders, shop.many, batched=True)
    batch = received(orders, order(1), order(POISON), order(3))

    deliver_until_settled(GROUP, orders, batch)

    assert sorted(shop.handled) == [1, 3]
    handled_ids = {str(i) for i in InboxEntry.objects.values_list("event_id", flat=True)}
    assert handled_ids == {batch[0].event_id, batch[2].event_id}
    letter = DeadLetter.objects.get()
    assert (letter.consumer, str(letter.event_id)) == (proc.id, batch[1].event_id)
    assert (letter.stream, letter.key, letter.payload) == ("test.orders", "2", batch[1].payload)
    assert letter.error == "ValueError: cannot ship order 2"
    assert letter.attempts == 3
    assert letter.resolved_at is None


def test_a_failing_event_is_tried_exactly_max_attempts_times(orders, shop):
    subscribe(orders, shop.one)
    deliver_until_settled(GROUP, orders, received(orders, order(POISON), order(5)))
    assert shop.attempts == {POISON: 3, 5: 1}
    assert DeadLetter.objects.get().attempts == 3


def test_a_processor_failure_rolls_back_its_inbox_entry(orders, shop):
    subscribe(orders, shop.one)
    deliver(GROUP, orders, received(orders, order(POISON)), attempts={})
    assert InboxEntry.objects.count() == 0


def test_a_database_error_is_transient_and_never_dead_letters(orders):
    def database_down(event: Event) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    subscribe(orders, database_down)
    batch = received(orders, order(1))
    outcome = deliver(GROUP, orders, batch, attempts={batch[0].event_id: 99})
    assert [f.transient for f in outcome.failed] == [True]
    assert outcome.done == []
    assert DeadLetter.objects.count() == 0


def test_backoff_doubles_per_attempt_up_to_the_maximum():
    values = {"STREAM_RETRY_BACKOFF": 1.5, "STREAM_RETRY_BACKOFF_MAX": 10.0}
    with override_settings(UCLOUD={**settings.UCLOUD, **values}):
        assert [delivery.backoff(n) for n in range(2, 7)] == [1.5, 3.0, 6.0, 10.0, 10.0]


def test_an_event_buried_twice_stays_one_dead_letter_with_the_latest_failure(orders, shop):
    subscribe(orders, shop.one)
    poison = received(orders, order(POISON))
    deliver_until_settled(GROUP, orders, poison)
    deliver_until_settled(GROUP, orders, poison)
    letter = DeadLetter.objects.get()
    assert letter.attempts == 3
    assert shop.attempts[POISON] == 6


def test_retrying_a_dead_letter_after_the_fix_takes_effect_once_and_resolves_it(orders, shop):
    subscribe(orders, shop.one)
    deliver_until_settled(GROUP, orders, received(orders, order(POISON)))
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
    deliver_until_settled(GROUP, orders, received(orders, order(POISON)))
    letter = DeadLetter.objects.get()

    assert delivery.retry_dead_letter(letter) is False
    letter.refresh_from_db()
    assert (letter.attempts, letter.resolved_at) == (4, None)
    assert letter.error == "ValueError: cannot ship order 2"


def test_retrying_a_dead_letter_with_an_invalid_payload_fails_with_the_field_errors(orders, shop):
    subscribe(orders, shop.one)
    deliver(GROUP, orders, [Received("5d8f4a3e-2b1c-4e6f-8a9b-0c1d2e3f4a5b", "1", {})], attempts={})
    letter = DeadLetter.objects.get()
    assert delivery.retry_dead_letter(letter) is False
    letter.refresh_from_db()
    assert letter.error.startswith("InvalidEvent: ")
    assert letter.attempts == 2
    assert shop.handled == []


def test_retrying_a_dead_letter_of_a_batched_processor_hands_it_a_list(orders, shop):
    subscribe(orders, shop.many, batched=True)
    deliver_until_settled(GROUP, orders, received(orders, order(POISON)))
    shop.fixed = True
    assert delivery.retry_dead_letter(DeadLetter.objects.get()) is True
    assert shop.batches[-1] == [POISON]
    assert shop.handled == [POISON]


def test_a_payload_validated_by_a_producer_with_the_same_contract_is_not_validated_again(orders):
    seen: list[dict] = []
    subscribe(orders, lambda event: seen.append(event.payload))
    trusted = {"order_id": 7, "amount": "1.00", "placed_at": "2026-01-02T03:04:05Z", "note": ""}
    same = Received("9a0e8c9e-1111-4b7a-8a2e-0c1d2e3f4a5b", "7", trusted, contract=orders.contract)
    other = Received("9a0e8c9e-2222-4b7a-8a2e-0c1d2e3f4a5b", "7", {"order_id": 7}, contract="v0")
    outcome = deliver(GROUP, orders, [same, other], attempts={})
    assert set(outcome.done) == {same.event_id, other.event_id}
    assert seen == [trusted]  # passed as produced
    # The other contract's payload was validated, and refused.
    assert DeadLetter.objects.get().error.startswith("InvalidEvent: ")


def test_the_contract_fingerprint_follows_the_serializer_fields():
    class Narrower(OrderEvent):
        note = serializers.CharField(required=False, default="", max_length=3, allow_blank=True)

    wide = EventStream("test.wide", payload=OrderEvent, key="order_id")
    narrow = EventStream("test.narrow", payload=Narrower, key="order_id")
    same = EventStream("test.same", payload=OrderEvent, key="order_id")
    assert wide.contract == same.contract
    assert wide.contract != narrow.contract
