"""Test support for event streams: throw-away streams and processors.

Tests declare their own streams and subscribe plain functions to them; the
kit's registries are restored afterwards so nothing leaks into other tests::

    with registries_restored():
        orders = EventStream("test.orders", payload=OrderEvent, key="order_id")
        subscribe(orders, seen.append)
        deliver_until_settled(GROUP, orders, received(orders, order(1)))
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rest_framework import serializers

from ucloud.events import processors, streams
from ucloud.events.delivery import Outcome, Received, deliver
from ucloud.events.processors import Processor
from ucloud.events.streams import EventStream
from ucloud.models import OutboxEvent

# A real consuming service, so that its database alias is a real one.
GROUP = "notifications"


class OrderEvent(serializers.Serializer):
    order_id = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=8, decimal_places=2)
    placed_at = serializers.DateTimeField()
    note = serializers.CharField(required=False, default="", allow_blank=True)


def order(order_id: int, **extra: Any) -> dict[str, Any]:
    """A valid ``OrderEvent`` payload (Python types, as a producer has them)."""
    return {
        "order_id": order_id,
        "amount": decimal.Decimal("12.50"),
        "placed_at": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        **extra,
    }


def received(stream: EventStream, *payloads: dict[str, Any]) -> list[Received]:
    """Events as a consumer reads them off ``stream``: JSON payloads, new ids."""
    return [
        Received(event_id=str(uuid.uuid4()), key=str(payload[stream.key]), payload=data)
        for payload, data in zip(payloads, stream.validate_many(list(payloads)), strict=True)
    ]


def deliver_until_settled(
    group: str, stream: EventStream, events: list[Received], *, rounds: int = 20
) -> list[Outcome]:
    """Deliver as a consumer would: again and again, counting failed
    attempts, until every event is done (handled or dead-lettered)."""
    attempts: dict[str, int] = {}
    outcomes = []
    pending = list(events)
    for _ in range(rounds):
        outcome = deliver(group, stream, pending, attempts=attempts)
        outcomes.append(outcome)
        for failure in outcome.failed:
            if not failure.transient:
                attempts[failure.event.event_id] = attempts.get(failure.event.event_id, 0) + 1
        done = set(outcome.done)
        pending = [event for event in pending if event.event_id not in done]
        if not pending:
            return outcomes
    raise AssertionError(f"still pending after {rounds} rounds: {pending}")


@contextmanager
def registries_restored() -> Iterator[None]:
    declared, subscribed = dict(streams._streams), dict(processors._processors)
    try:
        yield
    finally:
        streams._streams.clear()
        streams._streams.update(declared)
        processors._processors.clear()
        processors._processors.update(subscribed)


def subscribe(
    stream: EventStream,
    function: Callable[..., Any],
    *,
    batched: bool = False,
    group: str = GROUP,
    start: processors.Start = "beginning",
) -> Processor:
    """Register ``function`` as a processor of ``group`` (as ``@processor`` does
    for a function in that service's ``processors.py``)."""
    found = Processor(stream=stream, function=function, batched=batched, group=group, start=start)
    processors._processors[found.id] = found
    return found


def pending() -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(relayed_at__isnull=True))
