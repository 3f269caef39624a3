"""The recent spans the admin shows when no OTLP collector takes them.

Finished spans become small JSON records, kept bounded (``TRACE_STORE_SIZE``,
newest first): in Redis when the deployment has one (``REDIS_URL``, or the
events Redis), shared by every unit and worker process, else in this
process's memory (one process: ``make run``)::

    store = configured_store()
    store.add([{"trace_id": "4bf9...", "span_id": "00f0...", "name": "files.share", ...}])
    store.records()          # newest first
"""

from __future__ import annotations

import collections
import json
import os
import threading
from collections.abc import Sequence
from typing import Any, Protocol

import redis
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, StatusCode

from ucloud.events.broker import events_url
from ucloud.settings import ucloud_settings

Record = dict[str, Any]
REDIS_KEY = "ucloud:observe:spans"


class SpanStore(Protocol):
    def add(self, records: Sequence[Record]) -> None: ...

    def records(self) -> list[Record]:
        """Every record kept, newest first."""

    def clear(self) -> None: ...


class MemoryStore:
    def __init__(self, size: int) -> None:
        self._records: collections.deque[Record] = collections.deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, records: Sequence[Record]) -> None:
        with self._lock:
            self._records.extendleft(records)

    def records(self) -> list[Record]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


class RedisStore:
    """A capped list in Redis: one ``LPUSH`` and ``LTRIM`` per exported batch."""

    def __init__(self, url: str, size: int, key: str = REDIS_KEY) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self.size = size
        self.key = key

    def add(self, records: Sequence[Record]) -> None:
        if not records:
            return
        pipe = self.client.pipeline(transaction=False)
        pipe.lpush(self.key, *[json.dumps(record) for record in records])
        pipe.ltrim(self.key, 0, self.size - 1)
        pipe.execute()

    def records(self) -> list[Record]:
        raw: Any = self.client.lrange(self.key, 0, self.size - 1)
        return [json.loads(item) for item in raw]

    def clear(self) -> None:
        self.client.delete(self.key)


_stores: dict[tuple[int, str | None, int], SpanStore] = {}
_stores_lock = threading.Lock()


def store_url() -> str | None:
    """The Redis of the store: ``REDIS_URL``, else the events Redis, else none."""
    return ucloud_settings.REDIS_URL or events_url()


def configured_store() -> SpanStore:
    """This process's store for the current settings."""
    url, size = store_url(), int(ucloud_settings.TRACE_STORE_SIZE)
    key = (os.getpid(), url, size)
    with _stores_lock:
        found = _stores.get(key)
        if found is None:
            found = _stores[key] = MemoryStore(size) if url is None else RedisStore(url, size)
        return found


_KINDS = {
    SpanKind.SERVER: "server",
    SpanKind.CLIENT: "client",
    SpanKind.CONSUMER: "consumer",
    SpanKind.PRODUCER: "producer",
    SpanKind.INTERNAL: "internal",
}


def record_of(span: ReadableSpan) -> Record:
    """A finished span as a JSON-able record."""
    context = span.get_span_context()
    parent = span.parent
    start, end = span.start_time or 0, span.end_time or span.start_time or 0
    attributes = dict(span.attributes or {})
    return {
        "trace_id": f"{context.trace_id:032x}" if context else "",
        "span_id": f"{context.span_id:016x}" if context else "",
        "parent_id": f"{parent.span_id:016x}" if parent else "",
        "name": span.name,
        "kind": _KINDS.get(span.kind, "internal"),
        "start": start / 1e9,
        "duration_ms": (end - start) / 1e6,
        "error": span.status.status_code is StatusCode.ERROR,
        "attributes": {
            k: v if isinstance(v, str | int | float | bool) else str(v)
            for k, v in attributes.items()
        },
        "links": [
            {"trace_id": f"{link.context.trace_id:032x}", "span_id": f"{link.context.span_id:016x}"}
            for link in span.links
        ],
        "service": str(span.resource.attributes.get("service.name", "")),
        "process": f"{span.resource.attributes.get('host.name', '')}:"
        f"{span.resource.attributes.get('process.pid', '')}",
    }


class StoreExporter(SpanExporter):
    """Hands finished spans (in batches, off the request thread) to a store."""

    def __init__(self, store: SpanStore) -> None:
        self.store = store

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            self.store.add([record_of(span) for span in spans])
        except redis.RedisError:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None
