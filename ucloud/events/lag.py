"""How far each consumer group is behind: for ``/status`` and ``ucloud_streams``.

Per stream and group, summed over the partitions: live consumers, entries
delivered but not yet acknowledged (pending), entries not yet delivered
(lag), and the age of the oldest entry not yet acknowledged::

    for row in group_lags(broker.connect()):
        print(row.stream, row.group, row.pending, row.lag, row.oldest_age)
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis

from ucloud.events import broker
from ucloud.events.leases import presence_key
from ucloud.events.processors import groups_of
from ucloud.events.streams import streams


@dataclass
class GroupLag:
    stream: str
    group: str
    consumers: int = 0
    pending: int = 0
    lag: int = 0
    # Seconds since the oldest unacknowledged entry was produced.
    oldest_age: float | None = None
    # Partitions on which the group does not exist yet (no consumer started).
    missing_partitions: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "consumers": self.consumers,
            "pending": self.pending,
            "lag": self.lag,
            "oldest_age_s": None if self.oldest_age is None else round(self.oldest_age, 3),
            "missing_partitions": self.missing_partitions,
        }


def group_lags(client: redis.Redis, groups: Iterable[str] | None = None) -> list[GroupLag]:
    """One row per (stream, group) of the declared streams, optionally only
    the given groups; three pipelined round trips in all."""
    wanted = None if groups is None else set(groups)
    rows = [
        GroupLag(stream, group)
        for stream in sorted(streams())
        for group in groups_of(stream)
        if wanted is None or group in wanted
    ]
    if not rows:
        return rows
    infos = _pipelined(client, [("xinfo_groups", key) for row in rows for key in _keys(row)])
    lengths = _pipelined(client, [("xlen", key) for row in rows for key in _keys(row)])
    live = _pipelined(client, [("zcount", presence_key(row.group)) for row in rows])
    oldest: list[tuple[GroupLag, str, str]] = []
    position = 0
    for index, row in enumerate(rows):
        row.consumers = int(live[index]) if isinstance(live[index], int) else 0
        for key in _keys(row):
            info, length = infos[position], lengths[position]
            position += 1
            mine = _group_info(info, row.group)
            if mine is None:
                row.missing_partitions += 1
                row.lag += int(length) if isinstance(length, int) else 0
                continue
            row.pending += int(mine.get("pending") or 0)
            row.lag += _lag(mine, length)
            oldest.append((row, key, _text(mine.get("last-delivered-id") or "0-0")))
    _oldest_ages(client, oldest)
    return rows


def _keys(row: GroupLag) -> list[str]:
    return broker.partition_keys(row.stream)


def _pipelined(client: redis.Redis, calls: list[tuple[str, str]]) -> list[Any]:
    pipe = client.pipeline(transaction=False)
    now = int(time.time() * 1000)
    for command, key in calls:
        if command == "zcount":
            pipe.zcount(key, now, "+inf")
        else:
            getattr(pipe, command)(key)
    # A partition nobody produced to yet has no stream: an error, not a failure.
    return list(pipe.execute(raise_on_error=False))


def _group_info(info: Any, group: str) -> dict[str, Any] | None:
    if not isinstance(info, list):
        return None
    for entry in info:
        if _text(entry.get("name")) == group:
            return dict(entry)
    return None


def _lag(info: dict[str, Any], length: Any) -> int:
    lag = info.get("lag")
    if isinstance(lag, int):
        return lag
    # Redis cannot tell after some trims or rewinds: count what is newer.
    return int(length) if isinstance(length, int) else 0


def _oldest_ages(client: redis.Redis, found: list[tuple[GroupLag, str, str]]) -> None:
    """The oldest unacknowledged entry per row: the first pending one, or
    the first one not delivered yet."""
    if not found:
        return
    pipe = client.pipeline(transaction=False)
    for row, key, last in found:
        pipe.xpending(key, row.group)
        pipe.xrange(key, min=f"({last}", count=1)
    answers = pipe.execute(raise_on_error=False)
    now_ms = time.time() * 1000
    for index, (row, _, _) in enumerate(found):
        summary, following = answers[2 * index], answers[2 * index + 1]
        candidates = []
        if isinstance(summary, dict) and summary.get("min"):
            candidates.append(broker.millis_of(_text(summary["min"])))
        if isinstance(following, list) and following:
            candidates.append(broker.millis_of(_text(following[0][0])))
        if candidates:
            age = max(0.0, (now_ms - min(candidates)) / 1000)
            row.oldest_age = age if row.oldest_age is None else max(row.oldest_age, age)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
