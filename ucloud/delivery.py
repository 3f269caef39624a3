"""Delivery of event batches to a consumer group, with retries and dead letters.

Called by the Celery task of the group's queue, or directly after commit in
the embedded (eager) mode. An event that fails is retried with exponential
backoff; after ``STREAM_MAX_ATTEMPTS`` it becomes a ``DeadLetter``::

    deliver("notifications", [event.as_message() for event in events])
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from ucloud.models import DeadLetter
from ucloud.processors import Failure, Processor, processor_by_id, processors_of
from ucloud.settings import ucloud_settings
from ucloud.streams import Event

logger = logging.getLogger("ucloud.streams")

# (processor id, failed messages, next attempt, countdown seconds) -> None
Reschedule = Callable[[str, list[dict[str, Any]], int, float], None]


def backoff(attempt: int) -> float:
    """Seconds before attempt number ``attempt`` (2, 3, ...)."""
    base = float(ucloud_settings.STREAM_RETRY_BACKOFF)
    return float(min(base * 2 ** (attempt - 2), ucloud_settings.STREAM_RETRY_BACKOFF_MAX))


def deliver(
    group: str,
    messages: Sequence[dict[str, Any]],
    *,
    processor_id: str | None = None,
    attempt: int = 1,
    reschedule: Reschedule | None = None,
) -> int:
    """Run the group's processors on ``messages``; return how many failed.

    Failures go to ``reschedule`` (a later attempt) while attempts remain,
    else to the dead-letter table. Without ``reschedule`` (eager mode) the
    attempts run here, one after the other, without waiting.
    """
    events = [Event.from_message(message) for message in messages]
    failed = 0
    for proc, batch in _work(group, events, processor_id):
        current, current_attempt = batch, attempt
        while True:
            failures = proc.run(current)
            if not failures:
                break
            if current_attempt >= ucloud_settings.STREAM_MAX_ATTEMPTS:
                bury(proc, failures, attempts=current_attempt)
                failed += len(failures)
                break
            retry = [failure.event for failure in failures]
            logger.info(
                "%s failed %d event(s) on attempt %d: %s",
                proc.id,
                len(retry),
                current_attempt,
                failures[0].error,
            )
            if reschedule is not None:
                reschedule(
                    proc.id,
                    [event.as_message() for event in retry],
                    current_attempt + 1,
                    backoff(current_attempt + 1),
                )
                break
            current, current_attempt = retry, current_attempt + 1
    return failed


def _work(
    group: str, events: list[Event], processor_id: str | None
) -> list[tuple[Processor, list[Event]]]:
    if processor_id is not None:
        return [(processor_by_id(processor_id), events)]
    by_stream: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_stream[event.stream].append(event)
    return [
        (proc, stream_events)
        for stream, stream_events in by_stream.items()
        for proc in processors_of(group, stream)
    ]


def bury(proc: Processor, failures: Sequence[Failure], *, attempts: int) -> None:
    """Record failures as dead letters (once per consumer and event)."""
    for failure in failures:
        event = failure.event
        logger.error(
            "%s gave up on event %s of %s after %d attempts: %s",
            proc.id,
            event.event_id,
            event.stream,
            attempts,
            failure.error,
        )
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
    event = Event(
        event_id=str(letter.event_id),
        stream=letter.stream,
        key=letter.key,
        payload=dict(letter.payload),
        produced_at=letter.produced_at,
    )
    failures = proc.run([event])
    if failures:
        letter.error = failures[0].error
        letter.attempts += 1
        letter.failed_at = timezone.now()
        letter.save(using=proc.using, update_fields=["error", "attempts", "failed_at"])
        return False
    letter.resolved_at = timezone.now()
    letter.save(using=proc.using, update_fields=["resolved_at"])
    return True


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
