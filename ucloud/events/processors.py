"""Processors: functions in a service's ``processors.py`` that consume streams.

Each consuming service is a consumer group: it gets every event of the
streams it subscribes to. A processor's effect and its inbox entry commit in
one transaction on the group's database alias, so a redelivered event is
skipped::

    @processor(files_events)
    def notify(event: Event) -> None: ...            # one event at a time

    @processor(files_events, batched=True)
    def index(events: list[Event]) -> None: ...      # a batch per transaction

    @processor(files_events, start="now")            # a new group skips the past
    def count(event: Event) -> None: ...
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from django.db import IntegrityError, InterfaceError, OperationalError, connections, transaction

from ucloud import observers, registry
from ucloud.databases import alias_for
from ucloud.events import inbox
from ucloud.events.streams import Event, EventStream

F = TypeVar("F", bound=Callable[..., Any])
Start = Literal["beginning", "now"]

_processors: dict[str, Processor] = {}


class TransientError(Exception):
    """Raised by a processor when a dependency failed, not the event (a
    search engine that is down): like a database outage it counts no
    attempt, and the event is tried again until the dependency is back."""


# Errors of the database connection (or, raised on purpose, of another
# dependency) rather than of the event: they do not count as attempts (an
# outage must not dead-letter every event in flight).
TRANSIENT_ERRORS = (OperationalError, InterfaceError, TransientError)


@dataclass(frozen=True)
class Failure:
    event: Event
    error: str
    # True when the database failed, not the processor on this event.
    transient: bool = False


@dataclass
class Processor:
    """One subscription of one consumer group to one stream."""

    stream: EventStream
    function: Callable[..., Any]
    batched: bool
    group: str
    # Where a consumer group that does not exist yet starts reading: the
    # oldest event the stream still holds, or the next one produced.
    start: Start = "beginning"

    @property
    def using(self) -> str:
        """The group's database alias: its inbox, dead letters and effects live there."""
        return alias_for(self.group)

    @property
    def id(self) -> str:
        return f"{self.group}:{self.function.__module__}.{self.function.__qualname__}"

    def handled(self, events: Sequence[Event]) -> set[str]:
        """Event ids of ``events`` this processor's inbox already holds."""
        return inbox.handled(self.using, self.id, [event.event_id for event in events])

    def run_in_order(self, events: Sequence[Event]) -> tuple[int, Failure | None]:
        """Handle ``events`` in order, stopping at the first failure.

        Returns how many of them are handled (now or before) from the start,
        and the failure of the next one, if any.
        """
        if self.batched and len(events) > 1 and self._run_batch(events):
            return len(events), None
        handled = self._handled_before(events)
        for index, event in enumerate(events):
            if event.event_id in handled:
                continue
            failure = self._run_one(event)
            if failure is not None:
                return index, failure
        return len(events), None

    def run_each(self, events: Sequence[Event]) -> list[Failure]:
        """Handle each event not handled before; return the ones that failed
        (a failure does not stop the others)."""
        if self.batched and len(events) > 1 and self._run_batch(events):
            return []
        handled = self._handled_before(events)
        fresh = [event for event in events if event.event_id not in handled]
        return [failure for event in fresh if (failure := self._run_one(event)) is not None]

    def _handled_before(self, events: Sequence[Event]) -> set[str]:
        # One lookup spares a redelivered batch a transaction per event. A
        # lone event (eager delivery of a request's event, a retry) skips
        # it: ``_run_one`` writes its inbox entry first and so finds out
        # anyway, in the same statement.
        return self.handled(events) if len(events) > 1 else set()

    def _run_batch(self, events: Sequence[Event]) -> bool:
        """The events not handled before, in one transaction with their inbox
        entries; False when it failed (the caller then isolates the culprit
        event by event)."""
        try:
            with transaction.atomic(using=self.using):
                fresh_ids = inbox.record_new(
                    self.using, self.id, [event.event_id for event in events]
                )
                fresh = []
                for event in events:
                    if event.event_id in fresh_ids:
                        fresh_ids.discard(event.event_id)  # once, should it come twice
                        fresh.append(event)
                if fresh:
                    with self._observed(fresh):
                        self.function(fresh)
        except Exception:
            _drop_broken_connection(self.using)
            return False
        return True

    def _run_one(self, event: Event) -> Failure | None:
        # The inbox entry first, then the effect, as in a batch: two
        # deliveries of overlapping events (eager passes of two processes)
        # that took the two in opposite orders would wait on each other
        # until PostgreSQL's deadlock check broke the tie, a second later.
        try:
            with transaction.atomic(using=self.using):
                if not inbox.record_new(self.using, self.id, [event.event_id]):
                    return None  # another delivery handled it meanwhile
                with self._observed([event]):
                    self.function([event] if self.batched else event)
        except IntegrityError as exc:
            if self.handled([event]):
                # Another delivery handled it at the same time; its effect
                # stands and ours rolled back with the inbox entry.
                return None
            return Failure(event, describe(exc))
        except TRANSIENT_ERRORS as exc:
            _drop_broken_connection(self.using)
            return Failure(event, describe(exc), transient=True)
        except Exception as exc:
            return Failure(event, describe(exc))
        return None

    def _observed(self, events: Sequence[Event]) -> AbstractContextManager[object]:
        """The observers' view of one run (a span, the processed count)."""
        observer = observers.events
        if observer is None:
            return nullcontext()
        return observer.processing(self.group, self.stream.name, events)


def _drop_broken_connection(alias: str) -> None:
    # A connection the server dropped stays unusable until closed; the next
    # attempt then opens a new one.
    connection = connections[alias]
    if connection.connection is not None and not connection.is_usable():
        connection.close()


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def processor(
    stream: EventStream, *, batched: bool = False, start: Start = "beginning"
) -> Callable[[F], F]:
    """Subscribe the decorated function's service to ``stream``."""
    if start not in ("beginning", "now"):
        raise ValueError(f"start must be 'beginning' or 'now', not {start!r}")

    def register(function: F) -> F:
        group = registry.service_of_module(function.__module__)
        found = Processor(
            stream=stream, function=function, batched=batched, group=group, start=start
        )
        _processors[found.id] = found
        return function

    return register


def processors() -> dict[str, Processor]:
    return dict(_processors)


def processor_by_id(processor_id: str) -> Processor:
    try:
        return _processors[processor_id]
    except KeyError:
        raise LookupError(f"No processor {processor_id!r} is registered") from None


def groups_of(stream_name: str) -> list[str]:
    """Consumer groups subscribed to a stream, in a stable order."""
    return sorted({p.group for p in _processors.values() if p.stream.name == stream_name})


def processors_of(group: str, stream_name: str) -> list[Processor]:
    return [p for p in _processors.values() if p.group == group and p.stream.name == stream_name]


def streams_of(group: str) -> list[EventStream]:
    """The streams a group consumes, by name."""
    found = {p.stream.name: p.stream for p in _processors.values() if p.group == group}
    return [found[name] for name in sorted(found)]


def group_start(group: str, stream_name: str) -> Start:
    """Where the group starts on the stream when it is created: the beginning
    if any of its processors of the stream asks for it."""
    starts = {p.start for p in processors_of(group, stream_name)}
    return "beginning" if "beginning" in starts or not starts else "now"
