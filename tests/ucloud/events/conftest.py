"""Fixtures of the event tests: the kit's registries restored after each
test, and an ``orders`` stream (``streamed_orders``: one with a name of its
own on the test Redis, its keys deleted afterwards)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ucloud.events.eventing import OrderEvent, registries_restored
from tests.ucloud.events.streaming import forget, unique
from ucloud.events.streams import EventStream


@pytest.fixture(autouse=True)
def _own_registries() -> Iterator[None]:
    with registries_restored():
        yield


@pytest.fixture
def orders() -> EventStream:
    return EventStream("test.orders", payload=OrderEvent, key="order_id")


@pytest.fixture
def streamed_orders(redis_url: str) -> Iterator[EventStream]:
    stream = EventStream(unique("test.orders"), payload=OrderEvent, key="order_id")
    yield stream
    forget(redis_url, stream.name)
