"""Test support for event streams: throw-away streams and processors.

Tests declare their own streams and subscribe plain functions to them; the
kit's registries are restored afterwards so nothing leaks into other tests::

    with registries_restored():
        orders = EventStream("test.orders", payload=OrderEvent, key="order_id")
        subscribe(orders, seen.append)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rest_framework import serializers

from ucloud import processors, streams
from ucloud.models import OutboxEvent
from ucloud.processors import Processor
from ucloud.streams import EventStream

# A real consuming service, so that its queue name is the one workers use.
GROUP = "notifications"


class OrderEvent(serializers.Serializer):
    order_id = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=8, decimal_places=2)
    placed_at = serializers.DateTimeField()
    note = serializers.CharField(required=False, default="")


def order(order_id: int, **extra: Any) -> dict[str, Any]:
    """A valid ``OrderEvent`` payload (Python types, as a producer has them)."""
    import datetime
    import decimal

    return {
        "order_id": order_id,
        "amount": decimal.Decimal("12.50"),
        "placed_at": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        **extra,
    }


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
) -> Processor:
    """Register ``function`` as a processor of ``group`` (as ``@processor`` does
    for a function in that service's ``processors.py``)."""
    found = Processor(stream=stream, function=function, batched=batched, group=group)
    processors._processors[found.id] = found
    return found


def pending() -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(relayed_at__isnull=True))
