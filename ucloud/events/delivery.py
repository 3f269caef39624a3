"""Delivery of events to a consumer group: validation, processors, dead letters.

The stream consumer (with Redis) and the eager relay (without) hand a
group the events of one stream in produced order; ``deliver`` says which
are finished (handled, or dead-lettered after ``STREAM_MAX_ATTEMPTS``), which
failed and must be tried again, and which wait behind a failure::

    outcome = deliver("notifications", files_events, received, attempts={})
    outcome.done          # event ids to acknowledge
    outcome.failed        # retry these after backoff(attempt), then outcome.held
"""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.db import IntegrityError, transaction
from django.utils import timezone

from ucloud import observers
from ucloud.events.processors import Failure, Processor, processor_by_id, processors_of
from ucloud.events.streams import Event, EventStream, InvalidEvent
from ucloud.models import DeadLetter
from ucloud.settings import ucloud_settings

logger = logging.getLogger("ucloud.events")


class Received(NamedTuple):
    """An event as it came off the stream: its payload not yet validated.

    A named tuple: a consumer makes one per entry, at half the cost of a
    frozen dataclass."""

    event_id: str
    key: str
    payload: Any
    produced_at: datetime.datetime | None = None
    # The fingerprint of the serializer the producer validated the payload
    # with ("" when unknown, e.g. a relay of an older version).
    contract: str = ""
    # The producer's W3C traceparent ("" when not traced).
    trace: str = ""


@dataclass
class Outcome:
    done: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    # Ordered streams: events behind a failed one (same hold key), not tried.
    held: list[Event] = field(default_factory=list)


def _by_key(event: Event) -> Hashable:
    return event.key


def backoff(attempt: int) -> float:
    """Seconds before attempt number ``attempt`` (2, 3, ...)."""
    base = float(ucloud_settings.STREAM_RETRY_BACKOFF)
    return float(min(base * 2 ** (attempt - 2), ucloud_settings.STREAM_RETRY_BACKOFF_MAX))


def deliver(
    group: str,
    stream: EventStream,
    received: Sequence[Received],
    *,
    attempts: Mapping[str, int],
    hold_key: Callable[[Event], Hashable] = _by_key,
) -> Outcome:
    """Run the group's processors of ``stream`` on ``received`` (in order).

    ``attempts`` holds the failed attempts each event had before. On an
    ordered stream, a failed event holds back the later events with the same
    ``hold_key`` (its key, or the stream partition it came from); the others
    go on. A payload
    that fails the stream's serializer is dead-lettered at once with the
    field errors. A database outage raises nothing and counts no attempt:
    the failure comes back ``transient``.
    """
    outcome = Outcome()
    procs = processors_of(group, stream.name)
    events = _validated(stream, received, procs, outcome)
    if not procs:
        # The group no longer subscribes (a deploy removed the processor).
        outcome.done.extend(event.event_id for event in events)
        return outcome
    if stream.ordered:
        _deliver_in_order(procs, events, attempts, hold_key, outcome)
    else:
        _deliver_each(procs, events, attempts, outcome)
    return outcome


def _validated(
    stream: EventStream, received: Sequence[Received], procs: list[Processor], outcome: Outcome
) -> list[Event]:
    events = []
    received = _of_the_kit(stream, received, outcome)
    checked = stream.received(
        [item.payload for item in received], contracts=[item.contract for item in received]
    )
    for item, payload in zip(received, checked, strict=True):
        event = Event(
            event_id=item.event_id,
            stream=stream.name,
            key=item.key,
            payload=payload if isinstance(payload, dict) else _raw(item.payload),
            produced_at=item.produced_at,
            trace=item.trace,
        )
        if isinstance(payload, InvalidEvent):
            failure = Failure(event, f"InvalidEvent: {payload.errors}")
            bury([(proc, failure) for proc in procs], attempts=1)
            outcome.done.append(event.event_id)
        else:
            events.append(event)
    return events


def _of_the_kit(
    stream: EventStream, received: Sequence[Received], outcome: Outcome
) -> list[Received]:
    """The entries with an event id; the others are logged and finished.

    An entry someone else appended to the stream has no id the inbox or a
    dead letter could hold: left pending, it would be tried forever and
    hold back its partition.
    """
    kept = []
    for item in received:
        try:
            uuid.UUID(item.event_id)
        except ValueError:
            logger.error(
                "Dropped an entry of %s that is no event of the kit (event id %r)",
                stream.name,
                item.event_id[:100],
            )
            outcome.done.append(item.event_id)
            continue
        kept.append(item)
    return kept


def _raw(payload: Any) -> dict[str, Any]:
    return dict(payload) if isinstance(payload, Mapping) else {"payload": payload}


def _deliver_in_order(
    procs: list[Processor],
    events: list[Event],
    attempts: Mapping[str, int],
    hold_key: Callable[[Event], Hashable],
    outcome: Outcome,
) -> None:
    pending = events
    while pending:
        # Each processor goes as far as it can; the group is done up to the
        # first event some processor failed.
        runs = [(proc, *proc.run_in_order(pending)) for proc in procs]
        reached = min(count for _, count, _ in runs)
        outcome.done.extend(event.event_id for event in pending[:reached])
        if reached == len(pending):
            return
        failures = [
            (proc, failure) for proc, count, failure in runs if count == reached and failure
        ]
        event = pending[reached]
        if _settled(failures, event, attempts):
            outcome.done.append(event.event_id)
            pending = pending[reached + 1 :]
            continue
        outcome.failed.append(failures[0][1])
        blocked = hold_key(event)
        rest = pending[reached + 1 :]
        outcome.held.extend(later for later in rest if hold_key(later) == blocked)
        pending = [later for later in rest if hold_key(later) != blocked]


def _deliver_each(
    procs: list[Processor], events: list[Event], attempts: Mapping[str, int], outcome: Outcome
) -> None:
    failing: dict[str, list[tuple[Processor, Failure]]] = {}
    for proc in procs:
        for failure in proc.run_each(events):
            failing.setdefault(failure.event.event_id, []).append((proc, failure))
    for event in events:
        failures = failing.get(event.event_id)
        if not failures or _settled(failures, event, attempts):
            outcome.done.append(event.event_id)
        else:
            outcome.failed.append(failures[0][1])


def _settled(
    failures: list[tuple[Processor, Failure]],
    event: Event,
    attempts: Mapping[str, int],
) -> bool:
    """Whether ``event``'s failures end its delivery: its last attempt failed
    for a reason of its own, so it became a dead letter."""
    observer = observers.events
    if any(failure.transient for _, failure in failures):
        if observer is not None:
            observer.retried(failures[0][0].group, event.stream)
        return False
    tried = attempts.get(event.event_id, 0) + 1
    logger.info(
        "%s failed event %s of %s (attempt %d): %s",
        ", ".join(proc.id for proc, _ in failures),
        event.event_id,
        event.stream,
        tried,
        failures[0][1].error,
    )
    if tried < ucloud_settings.STREAM_MAX_ATTEMPTS:
        if observer is not None:
            observer.retried(failures[0][0].group, event.stream)
        return False
    bury(failures, attempts=tried)
    return True


def bury(failures: Sequence[tuple[Processor, Failure]], *, attempts: int) -> None:
    """Record failures as dead letters (once per consumer and event)."""
    for proc, failure in failures:
        event = failure.event
        logger.error(
            "%s gave up on event %s of %s after %d attempt(s): %s",
            proc.id,
            event.event_id,
            event.stream,
            attempts,
            failure.error,
        )
        observer = observers.events
        if observer is not None:
            observer.dead_lettered(proc.group, event.stream)
        try:
            with transaction.atomic(using=proc.using):
                DeadLetter.objects.using(proc.using).update_or_create(
                    consumer=proc.id,
                    event_id=event.event_id,
                    defaults={
                        "stream": event.stream,
                        "key": event.key,
                        "payload": event.payload,
                        "produced_at": event.produced_at,
                        "error": failure.error,
                        "attempts": attempts,
                        "failed_at": timezone.now(),
                        "resolved_at": None,
                    },
                )
        except IntegrityError:
            # A concurrent delivery buried it first; one row is enough.
            pass


def retry_dead_letter(letter: DeadLetter) -> bool:
    """Run a dead letter's event through its processor again, once.

    Returns True when it was handled (now or before); the letter is then
    marked resolved. On failure the letter's error and attempts are updated.
    """
    proc = processor_by_id(letter.consumer)
    try:
        # Validated again: a letter buried for its payload stays refused
        # until the producer's contract and the payload agree.
        payload = proc.stream.validate(letter.payload)
    except InvalidEvent as invalid:
        refused = _event_of(letter, dict(letter.payload))
        failures = [Failure(refused, f"InvalidEvent: {invalid.errors}")]
    else:
        failures = proc.run_each([_event_of(letter, payload)])
    if failures:
        letter.error = failures[0].error
        letter.attempts += 1
        letter.failed_at = timezone.now()
        letter.save(using=proc.using, update_fields=["error", "attempts", "failed_at"])
        return False
    letter.resolved_at = timezone.now()
    letter.save(using=proc.using, update_fields=["resolved_at"])
    return True


def _event_of(letter: DeadLetter, payload: dict[str, Any]) -> Event:
    return Event(
        event_id=str(letter.event_id),
        stream=letter.stream,
        key=letter.key,
        payload=payload,
        produced_at=letter.produced_at,
    )


def retry_or_reason(letter: DeadLetter) -> str | None:
    """Retry one dead letter; None when handled, else why it still fails
    (for the admin action and ``ucloud_deadletters``)."""
    try:
        if retry_dead_letter(letter):
            return None
    except LookupError as exc:
        # The consumer's processor is not registered in this process.
        return str(exc)
    return first_line(letter.error)


def first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""
