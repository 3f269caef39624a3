"""Eager delivery: events handled in the producing process, without a broker.

The embedded default (``make run``): after a producing transaction commits,
the process hands the pending outbox rows to the consumer groups it serves,
in produced order. A failed event is retried later on the background relay
thread (never inside the request), after ``backoff(attempt)``, and becomes a
dead letter after ``STREAM_MAX_ATTEMPTS``; until then it holds back the later
events of its key. Rows of streams that also have groups served elsewhere
keep ``relayed_at`` unset: they wait in the outbox for a broker::

    deliver_pending(using="default")    # -> (events finished, seconds until a retry is due)
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ucloud import serving
from ucloud.events.delivery import Received, backoff, deliver
from ucloud.events.processors import Failure, groups_of
from ucloud.events.streams import Event, stream_named
from ucloud.models import OutboxEvent
from ucloud.settings import ucloud_settings

# One eager pass per process at a time: two request threads delivering the
# same rows at once would race each other's order.
_passing = threading.Lock()

_COLUMNS = ("id", "event_id", "stream", "key", "payload", "contract", "created_at",
            "eager_attempts", "eager_retry_at", "trace")  # fmt: skip


@dataclass(frozen=True)
class _Row:
    id: int
    event_id: str
    stream: str
    key: str
    payload: Any
    contract: str
    produced_at: datetime.datetime | None
    attempts: int
    retry_at: datetime.datetime | None
    trace: str


def deliver_pending(*, using: str) -> tuple[int, float | None]:
    """One pass over the rows waiting for the groups served here; how many
    it finished, and the seconds until the earliest retry is due (None:
    nothing to retry)."""
    with _passing:
        rows = [_row(values) for values in _waiting(using)]
        if not rows:
            return 0, None
        now = timezone.now()
        # Keys behind an event whose retry is not due yet wait with it.
        blocked = {(row.stream, row.key) for row in rows if row.retry_at and row.retry_at > now}
        ready = [row for row in rows if (row.stream, row.key) not in blocked]
        failed: dict[str, Failure] = {}
        undone: set[str] = set()
        for stream, stream_rows in _by_stream(ready).items():
            for group in _served_groups(stream):
                outcome = _deliver_to(group, stream, stream_rows)
                failed.update((f.event.event_id, f) for f in outcome[0])
                undone.update(outcome[1])
        # When each failed event is tried again, worked out once here.
        next_try = {
            row.event_id: now + datetime.timedelta(seconds=_delay(row, failed[row.event_id]))
            for row in ready
            if row.event_id in failed
        }
        finished = _record(using, ready, failed, next_try, undone, now)
        retries = [row.retry_at for row in rows if row.retry_at and row.retry_at > now]
        retries += next_try.values()
        due = max(0.0, (min(retries) - now).total_seconds()) if retries else None
        return finished, due


def _row(values: tuple[Any, ...]) -> _Row:
    row_id, event_id, stream, key, payload, contract, created_at, attempts, retry_at, trace = values
    return _Row(
        row_id, str(event_id), stream, key, payload, contract, created_at, attempts, retry_at, trace
    )


def _waiting(using: str) -> list[tuple[Any, ...]]:
    pending = OutboxEvent.objects.using(using).filter(
        relayed_at__isnull=True, eager_done_at__isnull=True
    )
    size = int(ucloud_settings.STREAM_BATCH_SIZE)
    return list(pending.order_by("id").values_list(*_COLUMNS)[:size])


def _by_stream(rows: list[_Row]) -> dict[str, list[_Row]]:
    found: dict[str, list[_Row]] = {}
    for row in rows:
        found.setdefault(row.stream, []).append(row)
    return found


def _served_groups(stream: str) -> list[str]:
    served = serving.served_services()
    return [group for group in groups_of(stream) if group in served]


def _deliver_to(group: str, stream: str, rows: list[_Row]) -> tuple[list[Failure], set[str]]:
    """Deliver to one group; its failures, and the event ids it did not finish."""

    def by_key(event: Event) -> Hashable:
        return event.key

    received = [
        Received(r.event_id, r.key, r.payload, r.produced_at, r.contract, r.trace) for r in rows
    ]
    attempts = {row.event_id: row.attempts for row in rows if row.attempts}
    outcome = deliver(group, stream_named(stream), received, attempts=attempts, hold_key=by_key)
    done = set(outcome.done)
    return outcome.failed, {row.event_id for row in rows if row.event_id not in done}


def _delay(row: _Row, failure: Failure) -> float:
    if failure.transient:
        return backoff(2)
    return backoff(row.attempts + 2)


def _record(
    using: str,
    rows: list[_Row],
    failed: dict[str, Failure],
    next_try: dict[str, Any],
    undone: set[str],
    now: Any,
) -> int:
    finished = [row for row in rows if row.event_id not in undone]
    everywhere = {row.id for row in finished if _all_groups_served(row.stream)}
    here_only = [row.id for row in finished if row.id not in everywhere]
    table = OutboxEvent.objects.using(using)
    with transaction.atomic(using=using):
        if everywhere:
            table.filter(id__in=sorted(everywhere)).update(eager_done_at=now, relayed_at=now)
        if here_only:
            table.filter(id__in=here_only).update(eager_done_at=now)
        for row in rows:
            failure = failed.get(row.event_id)
            if failure is None:
                continue
            counted = 0 if failure.transient else 1
            table.filter(id=row.id).update(
                eager_attempts=F("eager_attempts") + counted,
                eager_retry_at=next_try[row.event_id],
            )
    return len(finished)


def _all_groups_served(stream: str) -> bool:
    served = serving.served_services()
    return all(group in served for group in groups_of(stream))
