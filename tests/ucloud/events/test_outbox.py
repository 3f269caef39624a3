"""The outbox: an event exists if and only if its transaction committed, and
each committed transaction kicks the relay once, however many events it made.

These tests commit and roll back for real (``transactional_db``); the relay
runs in the embedded (eager) mode, so processors see what was relayed.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import transaction

from tests.ucloud.events.eventing import order, pending, subscribe
from ucloud.events import relay
from ucloud.events.streams import Event, EventStream
from ucloud.models import OutboxEvent


class Boom(Exception):
    pass


def produce_then_fail(stream: EventStream, *order_ids: int) -> None:
    """Produce in a transaction (or savepoint) that then rolls back."""
    with transaction.atomic():
        for order_id in order_ids:
            stream.produce(order(order_id))
        assert OutboxEvent.objects.filter(key=str(order_ids[0])).exists()
        raise Boom


@pytest.fixture
def handled(orders) -> list[int]:
    """Order ids in the order a processor of ``orders`` handled them."""
    seen: list[int] = []

    def remember(event: Event) -> None:
        seen.append(event.payload["order_id"])

    subscribe(orders, remember)
    return seen


@pytest.fixture
def relay_runs(monkeypatch) -> list[dict]:
    """Every call of ``relay.relay_pending`` (keyword arguments); calls go through."""
    runs: list[dict] = []
    real: Callable[..., int] = relay.relay_pending

    def counting(**kwargs) -> int:
        runs.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(relay, "relay_pending", counting)
    return runs


@pytest.mark.django_db(transaction=True)
def test_rolled_back_transaction_leaves_no_event_and_no_processing(orders, handled, relay_runs):
    with pytest.raises(Boom):
        produce_then_fail(orders, 1)
    assert OutboxEvent.objects.count() == 0
    assert relay_runs == []
    assert handled == []


@pytest.mark.django_db(transaction=True)
def test_many_events_in_one_transaction_kick_the_relay_once(orders, handled, relay_runs):
    with transaction.atomic():
        for order_id in range(1, 6):
            orders.produce(order(order_id))
        orders.produce_many([order(6), order(7)])
        assert relay_runs == []  # nothing leaves before the commit
    assert len(relay_runs) == 1
    assert handled == [1, 2, 3, 4, 5, 6, 7]
    assert OutboxEvent.objects.count() == 7
    assert pending() == []


@pytest.mark.django_db(transaction=True)
def test_each_committed_transaction_gets_its_own_kick(orders, handled, relay_runs):
    for order_id in (1, 2):
        with transaction.atomic():
            orders.produce(order(order_id))
    assert len(relay_runs) == 2
    assert handled == [1, 2]


@pytest.mark.django_db(transaction=True)
def test_produce_outside_a_transaction_is_relayed_at_once(orders, handled, relay_runs):
    orders.produce(order(9))
    assert len(relay_runs) == 1
    assert handled == [9]
    assert OutboxEvent.objects.get().relayed_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_savepoint_keeps_the_kick_for_earlier_events(orders, handled, relay_runs):
    with transaction.atomic():
        orders.produce(order(1))
        with pytest.raises(Boom):
            produce_then_fail(orders, 2)
        assert relay_runs == []
    assert len(relay_runs) == 1
    assert handled == [1]
    assert list(OutboxEvent.objects.values_list("key", flat=True)) == ["1"]


@pytest.mark.django_db(transaction=True)
def test_a_kick_scheduled_in_a_rolled_back_savepoint_is_scheduled_again_later(
    orders, handled, relay_runs
):
    with transaction.atomic():
        with pytest.raises(Boom):
            produce_then_fail(orders, 1)
        orders.produce(order(2))
    assert len(relay_runs) == 1
    assert handled == [2]


@pytest.mark.django_db(transaction=True)
def test_a_kick_from_a_released_savepoint_survives_a_later_rolled_back_one(
    orders, handled, relay_runs
):
    with transaction.atomic():
        with transaction.atomic():
            orders.produce(order(1))
        with pytest.raises(Boom):
            produce_then_fail(orders, 2)
    assert len(relay_runs) == 1
    assert handled == [1]


@pytest.mark.django_db(transaction=True)
def test_a_transaction_without_events_does_not_kick_the_relay(orders, relay_runs):
    with transaction.atomic():
        orders.produce_many([])
    assert relay_runs == []


@pytest.mark.django_db
def test_captured_on_commit_callbacks_relay_each_block_once(
    orders, handled, relay_runs, django_capture_on_commit_callbacks
):
    # Inside a test case's transaction, each captured block acts as one
    # commit; the second block must get its own kick although Django keeps
    # the first block's (already run) hook in its list.
    for order_id in (1, 2):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            orders.produce(order(order_id))
            orders.produce(order(order_id + 10))
        assert len(callbacks) == 1
    assert len(relay_runs) == 2
    assert handled == [1, 11, 2, 12]
