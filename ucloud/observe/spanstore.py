"""The recent spans the admin shows when no OTLP collector takes them.

Finished spans are kept bounded (``TRACE_STORE_SIZE``, newest first): as
small JSON arrays in Redis when the deployment has one (``REDIS_URL``, or
the events Redis), shared by every unit and worker process and written in
batches off the serving thread; else in this process's memory (one process:
``make run``), taken as each span ends (``MemoryProcessor``) and made
records only when read::

    store = configured_store()
    store.add_compacts([compact_of(span)])  # or store.add([{"trace_id": "4bf9...", ...}])
    store.records()            # newest first, as records
"""

from __future__ import annotations

import collections
import json
import os
import threading
from collections.abc import Sequence
from typing import Any, Protocol

import redis
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.trace import SpanKind, StatusCode

from ucloud.events.broker import events_url
from ucloud.observe.spans import UNSET, KitSpan
from ucloud.settings import ucloud_settings

Record = dict[str, Any]
REDIS_KEY = "ucloud:observe:spans"


class SpanStore(Protocol):
    def add(self, records: Sequence[Record]) -> None: ...

    def add_compacts(self, compacts: Sequence[Compact]) -> None:
        """Finished spans as ``compact_of`` made them, oldest first."""

    def records(self) -> list[Record]:
        """Every record kept, newest first."""

    def clear(self) -> None: ...


class MemoryStore:
    """The newest spans of this process, made records only when read.

    A busy process ends thousands of spans a second and the admin reads a few
    of them now and then: spans are kept as compact tuples (``compact_of``)
    and become records (dicts, strings of hex) when the admin asks.
    """

    def __init__(self, size: int) -> None:
        self._records: collections.deque[Record | Compact] = collections.deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, records: Sequence[Record]) -> None:
        with self._lock:
            self._records.extendleft(records)

    def add_span(self, span: ReadableSpan) -> None:
        compact = compact_of(span)
        with self._lock:
            self._records.appendleft(compact)

    def add_compacts(self, compacts: Sequence[Compact]) -> None:
        with self._lock:
            self._records.extendleft(compacts)

    def records(self) -> list[Record]:
        with self._lock:
            kept = list(self._records)
        return [item if isinstance(item, dict) else record_from(item) for item in kept]

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
        self._push([json.dumps(record) for record in records])

    def add_compacts(self, compacts: Sequence[Compact]) -> None:
        # Each span as the JSON array of its compact tuple, made a record
        # when the admin reads it: the writers are every serving process,
        # on every call, and an array costs a third of a record (its hex
        # strings and keys) to encode. Only the newest fit: the rest would
        # be trimmed at once.
        self._push([_encode(compact) for compact in compacts[-self.size :]])

    def _push(self, items: list[str]) -> None:
        if not items:
            return
        pipe = self.client.pipeline(transaction=False)
        pipe.lpush(self.key, *items)
        pipe.ltrim(self.key, 0, self.size - 1)
        pipe.execute()

    def records(self) -> list[Record]:
        raw: Any = self.client.lrange(self.key, 0, self.size - 1)
        return [_decoded(item) for item in raw]

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


# A span as a tuple of numbers and strings: CPython's collector stops
# tracking such a tuple, so a store of thousands costs collections nothing,
# where the span objects themselves (or dict records) made every full
# collection, and with it every call, slower: files.retrieve in process went
# from 1.2 to 1.6 ms with 5,000 spans kept.
Compact = tuple[Any, ...]
_PLAIN = (str, bool, int, float)
_origins: dict[int, tuple[Resource, tuple[str, str]]] = {}


def _origin(resource: Resource) -> tuple[str, str]:
    """The service and the host:pid of a resource (one per process, so cached)."""
    found = _origins.get(id(resource))
    if found is None or found[0] is not resource:
        attributes = resource.attributes
        origin = (
            str(attributes.get("service.name", "")),
            f"{attributes.get('host.name', '')}:{attributes.get('process.pid', '')}",
        )
        found = _origins[id(resource)] = (resource, origin)
    return found[1]


def compact_of(span: ReadableSpan) -> Compact:
    if type(span) is KitSpan:
        # The kit's own spans, read from their fields (no property calls): a
        # kit span's attributes are plain already, and its dict of numbers
        # and strings is one the collector does not track, so it is kept.
        links, parent, status = span._links, span._parent, span._status
        # Span contexts read as the tuples they are (trace id, span id, ...),
        # as spans.start_span reads them.
        return (
            span._context[0],
            span._context[1],
            0 if parent is None else parent[1],
            span._name,
            # The member's name, not a dict of members: hashing an enum
            # member runs a Python function.
            span._kind._name_.lower(),
            span._start_time,
            span._end_time,
            status is not UNSET and status.status_code is StatusCode.ERROR,
            span._attributes,
            tuple((link.context.trace_id, link.context.span_id) for link in links) if links else (),
            *_origin(span._resource),
        )
    context, parent = span.context, span.parent
    start = span.start_time or 0
    return (
        context.trace_id if context else 0,
        context.span_id if context else 0,
        parent.span_id if parent else 0,
        span.name,
        _KINDS.get(span.kind, "internal"),
        start,
        span.end_time or start,
        span.status.status_code is StatusCode.ERROR,
        {
            key: value if isinstance(value, _PLAIN) else str(value)
            for key, value in (span.attributes or {}).items()
        },
        tuple((link.context.trace_id, link.context.span_id) for link in span.links),
        *_origin(span.resource),
    )


# Compact tuples as JSON: no spaces, and no check for cycles a tuple of
# numbers and strings cannot have.
_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


def _decoded(item: bytes | str) -> Record:
    """A stored span as a record: an array is a compact (what the kit writes),
    an object a record as ``add`` took it."""
    value = json.loads(item)
    return record_from(tuple(value)) if isinstance(value, list) else value


def record_from(compact: Compact) -> Record:
    trace_id, span_id, parent_id, name, kind, start, end, error, attributes, links = compact[:10]
    service, process = compact[10:]
    return {
        "trace_id": f"{trace_id:032x}" if trace_id else "",
        "span_id": f"{span_id:016x}" if span_id else "",
        "parent_id": f"{parent_id:016x}" if parent_id else "",
        "name": name,
        "kind": kind,
        "start": start / 1e9,
        "duration_ms": (end - start) / 1e6,
        "error": error,
        "attributes": dict(attributes),
        "links": [{"trace_id": f"{t:032x}", "span_id": f"{s:016x}"} for t, s in links],
        "service": service,
        "process": process,
    }


class MemoryProcessor(SpanProcessor):
    """Puts each finished span in a memory store as it ends.

    Keeping a span in memory is one append: no batch, queue or export thread
    is worth its cost (about a third of a span's) for that.
    """

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def on_end(self, span: ReadableSpan) -> None:
        context = span.context
        if context is not None and context.trace_flags.sampled:
            self.store.add_span(span)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
