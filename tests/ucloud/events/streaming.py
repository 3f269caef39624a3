"""Test support for the Redis side of events: broker mode on the test Redis,
with stream and group names no other test (or test run) uses.

    with events_on(redis_url):
        orders.produce(order(1))
    entries(orders, redis_url)   # {partition: [(entry id, Received), ...]}
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from django.conf import settings
from django.test import override_settings

from ucloud.events import broker
from ucloud.events.broker import Entry
from ucloud.events.streams import EventStream

PARTITIONS = 4


def unique(prefix: str) -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}"


@contextmanager
def events_on(url: str, **values: Any) -> Iterator[None]:
    """Broker mode with streams on ``url``: the relay appends in the commit
    hook (not on the background thread) unless ``RELAY_IN_BACKGROUND`` is given."""
    ucloud = {
        **settings.UCLOUD,
        "EVENTS_URL": url,
        "EVENTS_EAGER": False,
        "RELAY_IN_BACKGROUND": False,
        "STREAM_PARTITIONS": PARTITIONS,
        **values,
    }
    with override_settings(UCLOUD=ucloud):
        yield


def entries(stream: EventStream, url: str) -> dict[int, list[Entry]]:
    """Every entry of each partition of ``stream``, in stream order."""
    client = redis.Redis.from_url(url)
    found = {}
    try:
        for partition in range(PARTITIONS):
            raw: Any = client.xrange(broker.stream_key(stream.name, partition))
            found[partition] = [(i.decode(), broker.decode(fields)) for i, fields in raw]
    finally:
        client.close()
    return found


def forget(url: str, *names: str) -> None:
    """Delete every key of the kit's events that mentions one of ``names``."""
    client = redis.Redis.from_url(url)
    try:
        for name in names:
            for key in client.scan_iter(match=f"{broker.PREFIX}*{name}*"):
                client.delete(key)
    finally:
        client.close()
