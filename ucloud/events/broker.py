"""Redis Streams as the event transport: key names, appends, group reads, acks.

Each stream is split into ``STREAM_PARTITIONS`` Redis streams by its key, so
that the events of one key stay in one partition, in produced order. Every
consuming service is a consumer group on each partition; its failed
attempts per event are counted in a hash, so that they survive the
consumer::

    client = broker.connect("redis://127.0.0.1:6379/0")
    broker.publish(client, [Outgoing("files.events", "7", event_id, payload_json, at)])
    broker.read(client, "notifications", "host:42:ab", ["ucloud:events:files.events:3"])
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple, cast

import redis
from django.conf import settings

from ucloud.events.delivery import Received
from ucloud.events.streams import partition_of
from ucloud.settings import ucloud_settings

logger = logging.getLogger("ucloud.events")

PREFIX = "ucloud:events"
# Entry ids are "<milliseconds>-<sequence>"; the highest sequence number.
MAX_SEQUENCE = 2**64 - 1
# Entries claimed per XAUTOCLAIM call when a partition changes hands.
CLAIM_COUNT = 500


def events_url() -> str | None:
    """The Redis of the event streams: ``UCLOUD["EVENTS_URL"]``, else the
    Celery broker's URL when it is a Redis one; None means eager mode."""
    configured = ucloud_settings.EVENTS_URL or getattr(settings, "CELERY_BROKER_URL", None)
    if configured and str(configured).split(":", 1)[0] in ("redis", "rediss", "unix"):
        return str(configured)
    return None


def stream_key(stream: str, partition: int) -> str:
    return f"{PREFIX}:{stream}:{partition}"


def partition_keys(stream: str) -> list[str]:
    return [stream_key(stream, p) for p in range(int(ucloud_settings.STREAM_PARTITIONS))]


def attempts_key(group: str) -> str:
    return f"{PREFIX}:attempts:{group}"


_clients: dict[tuple[int, str], redis.Redis] = {}
_clients_lock = threading.Lock()


def connect(url: str | None = None) -> redis.Redis:
    """This process's client of the events Redis (one pool per process:
    a forked child must not share its parent's sockets)."""
    found = url or events_url()
    if found is None:
        raise RuntimeError("No events Redis is configured (EVENTS_URL or CELERY_BROKER_URL)")
    with _clients_lock:
        cache_key = (os.getpid(), found)
        client = _clients.get(cache_key)
        if client is None:
            # Timeouts: a Redis that stops answering must not hang a relay
            # or a consumer forever; blocking reads add their own wait.
            client = redis.Redis.from_url(
                found, socket_timeout=10.0, socket_connect_timeout=5.0, health_check_interval=30
            )
            _clients[cache_key] = client
        return client


class Outgoing(NamedTuple):
    """An outbox row on its way to its stream (a named tuple: the relay
    makes one per event, at a third of a frozen dataclass's cost)."""

    stream: str
    key: str
    event_id: str
    payload: str  # JSON
    produced_at: str  # ISO 8601
    # The fingerprint of the payload serializer the producer validated with.
    contract: str = ""
    # The producer's W3C traceparent ("" when not traced).
    trace: str = ""


# An entry has one field, "event": the payload's JSON, a newline, then the
# event id, production time, contract fingerprint, trace and key joined by
# "|" (only the key, last, may hold one, or a newline: the JSON never holds
# a raw newline, so the first one ends it). The consumer's Redis client
# parses every field as two strings of its own: one field rather than six
# took its parsing from about 16 to 6 us an entry (redis-py's parser, reads
# of 500), and shrinks what Redis stores and sends.
FIELD = "event"
_FIELD_BYTES = FIELD.encode()
META_SEPARATOR = "|"

# One script call appends a whole batch: several times cheaper for the
# client than a pipeline of XADDs (one command to encode, one reply), and
# the entries of a batch land together. ARGV: retention, then each entry.
APPEND = """
for i = 1, #KEYS do
    redis.call('XADD', KEYS[i], 'MAXLEN', '~', ARGV[1], '*', 'event', ARGV[i + 1])
end
return #KEYS
"""

_append_scripts: dict[int, Any] = {}


def entry_of(row: Outgoing) -> str:
    meta = META_SEPARATOR.join((row.event_id, row.produced_at, row.contract, row.trace, row.key))
    return f"{row.payload}\n{meta}"


def publish(client: redis.Redis, rows: Sequence[Outgoing]) -> None:
    """Append each row to its partition, in order, in one round trip."""
    if not rows:
        return
    partitions = int(ucloud_settings.STREAM_PARTITIONS)
    keys = [stream_key(row.stream, partition_of(row.key, partitions)) for row in rows]
    script = _append_scripts.get(id(client))
    if script is None:
        script = _append_scripts[id(client)] = client.register_script(APPEND)
    script(keys=keys, args=[int(ucloud_settings.STREAM_RETENTION), *map(entry_of, rows)])


def decode(fields: dict[bytes, bytes]) -> Received:
    entry = fields.get(_FIELD_BYTES)
    if entry is not None:
        raw, _, meta = entry.partition(b"\n")
        event_id, produced, contract, trace, key = _split_meta(meta.decode(errors="replace"))
    else:
        # A field each: entries appended before the one-field format.
        raw = fields.get(b"payload", b"null")
        event_id, produced, contract, trace, key = (
            fields.get(name, b"").decode(errors="replace")
            for name in (b"id", b"at", b"contract", b"trace", b"key")
        )
    try:
        # From text: given bytes, json guesses their encoding first.
        payload: Any = json.loads(raw.decode())
    except ValueError:  # UnicodeDecodeError included
        # Left to validation, which dead-letters it with the reason.
        payload = raw.decode(errors="replace")
    return Received(
        event_id=event_id,
        key=key,
        payload=payload,
        produced_at=_time_or_none(produced),
        contract=contract,
        trace=trace,
    )


def _time_or_none(text: str) -> datetime.datetime | None:
    # A foreign entry's odd time must not make the whole read fail.
    try:
        return datetime.datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _split_meta(meta: str) -> tuple[str, str, str, str, str]:
    parts = meta.split(META_SEPARATOR, 4)
    if len(parts) != 5:
        # Not the kit's: nothing but the id can be trusted (validation and
        # the inbox then decide), and a missing key sorts with "".
        parts = [*parts, "", "", "", ""][:5]
    event_id, produced, contract, trace, key = parts
    return event_id, produced, contract, trace, key


Entry = tuple[str, Received]  # (entry id, event)


def ensure_group(client: redis.Redis, key: str, group: str, *, beginning: bool) -> bool:
    """Create ``group`` on ``key`` (and the stream) unless it exists; True when created."""
    try:
        client.xgroup_create(key, group, id="0" if beginning else "$", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
        return False
    return True


def read(
    client: redis.Redis,
    group: str,
    consumer: str,
    keys: Iterable[str],
    *,
    count: int,
    block_ms: int,
) -> dict[str, list[Entry]]:
    """New entries of ``keys`` for ``group`` (each now pending for ``consumer``)."""
    answer: Any = client.xreadgroup(
        group, consumer, dict.fromkeys(keys, ">"), count=count, block=block_ms
    )
    found: dict[str, list[Entry]] = {}
    for key, entries in answer or []:
        found[key.decode()] = [
            (entry_id.decode(), decode(fields)) for entry_id, fields in entries if fields
        ]
    return found


def claim_pending(client: redis.Redis, key: str, group: str, consumer: str) -> list[Entry]:
    """Every entry pending in ``group`` on ``key``, now pending for ``consumer``.

    Called by the consumer that has just leased the partition: whoever held
    them before died or let the partition go, so no idle time is needed.
    Entries trimmed from the stream while pending are acknowledged (they
    are gone) and logged.
    """
    claimed: list[Entry] = []
    start = "0-0"
    while True:
        answer: Any = client.xautoclaim(key, group, consumer, 0, start, count=CLAIM_COUNT)
        start = answer[0].decode() if isinstance(answer[0], bytes) else str(answer[0])
        claimed.extend(
            (entry_id.decode(), decode(fields)) for entry_id, fields in answer[1] if fields
        )
        deleted = answer[2] if len(answer) > 2 else []
        if deleted:
            logger.error(
                "%d pending event(s) of group %s on %s were trimmed before being processed; "
                "replay them from the outbox (ucloud_replay --since)",
                len(deleted),
                group,
                key,
            )
            client.xack(key, group, *deleted)
        if start == "0-0":
            break
    claimed.sort(key=lambda entry: _id_order(entry[0]))
    return claimed


def _id_order(entry_id: str) -> tuple[int, int]:
    millis, _, sequence = entry_id.partition("-")
    return int(millis), int(sequence or 0)


def ack(
    client: redis.Redis, group: str, entry_ids: Mapping[str, Sequence[str]], forget: Sequence[str]
) -> None:
    """Acknowledge entries (their ids by stream key) and drop the failure
    counts of the events in ``forget``: one round trip for a whole delivery."""
    if not any(entry_ids.values()):
        return
    pipe = client.pipeline(transaction=False)
    for key, ids in entry_ids.items():
        if ids:
            pipe.xack(key, group, *ids)
    if forget:
        pipe.hdel(attempts_key(group), *forget)
    pipe.execute()


def count_failure(client: redis.Redis, group: str, event_id: str) -> int:
    """One more failed attempt of ``event_id`` by ``group``; the total."""
    return int(client.hincrby(attempts_key(group), event_id, 1))


def failures_of(client: redis.Redis, group: str, event_ids: Sequence[str]) -> dict[str, int]:
    """Failed attempts recorded for these events (absent: none)."""
    if not event_ids:
        return {}
    values = cast("list[bytes | None]", client.hmget(attempts_key(group), list(event_ids)))
    return {
        event_id: int(value) for event_id, value in zip(event_ids, values, strict=True) if value
    }


def rewind(client: redis.Redis, key: str, group: str, since_ms: int) -> bool:
    """Make ``group`` read ``key`` again from ``since_ms`` (entries at or after
    it). False when the stream has trimmed entries that may be that recent:
    those are gone from Redis, only the outbox still has them."""
    info: Any = client.xinfo_stream(key)
    client.xgroup_setid(key, group, f"{max(since_ms - 1, 0)}-{MAX_SEQUENCE}")
    trimmed = int(info.get("entries-added") or 0) > int(info.get("length") or 0)
    first = info.get("first-entry")
    return not (trimmed and first and millis_of(first[0].decode()) > since_ms)


def millis_of(entry_id: str) -> int:
    return int(entry_id.partition("-")[0])
