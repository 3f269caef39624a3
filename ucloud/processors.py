"""Processors: functions in a service's ``processors.py`` that consume streams.

Each consuming service is a consumer group: it gets every event of the
streams it subscribes to. A processor's effect and its inbox entry commit in
one transaction on the group's database alias, so redelivered events are
skipped::

    @processor(files_events)
    def notify(event: Event) -> None: ...            # one event at a time

    @processor(files_events, batched=True)
    def index(events: list[Event]) -> None: ...      # a batch per transaction
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import IntegrityError, transaction

from ucloud import registry
from ucloud.databases import alias_for
from ucloud.models import InboxEntry
from ucloud.streams import Event, EventStream

F = TypeVar("F", bound=Callable[..., Any])

_processors: dict[str, Processor] = {}


@dataclass(frozen=True)
class Failure:
    event: Event
    error: str


@dataclass
class Processor:
    """One subscription of one consumer group to one stream."""

    stream: EventStream
    function: Callable[..., Any]
    batched: bool
    group: str

    @property
    def using(self) -> str:
        """The group's database alias: its inbox, dead letters and effects live there."""
        return alias_for(self.group)

    @property
    def id(self) -> str:
        return f"{self.group}:{self.function.__module__}.{self.function.__qualname__}"

    def _handled(self, events: Sequence[Event]) -> set[str]:
        ids = [event.event_id for event in events]
        seen = InboxEntry.objects.using(self.using).filter(consumer=self.id, event_id__in=ids)
        return {str(value) for value in seen.values_list("event_id", flat=True)}

    def _record(self, events: Sequence[Event]) -> None:
        InboxEntry.objects.using(self.using).bulk_create(
            [InboxEntry(consumer=self.id, event_id=event.event_id) for event in events]
        )

    def run(self, events: Sequence[Event]) -> list[Failure]:
        """Handle each event not handled before; return the ones that failed."""
        if self.batched:
            try:
                with transaction.atomic(using=self.using):
                    handled = self._handled(events)
                    fresh = [event for event in events if event.event_id not in handled]
                    if fresh:
                        self.function(fresh)
                        self._record(fresh)
                return []
            except Exception:  # isolated below, event by event
                pass
        handled = self._handled(events)
        failures = []
        for event in events:
            if event.event_id in handled:
                continue
            try:
                with transaction.atomic(using=self.using):
                    self.function([event] if self.batched else event)
                    self._record([event])
            except IntegrityError as exc:
                if not self._handled([event]):
                    failures.append(Failure(event, _describe(exc)))
                # else: another delivery handled it at the same time; its
                # effect stands and ours rolled back with the inbox entry.
            except Exception as exc:
                failures.append(Failure(event, _describe(exc)))
        return failures


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def processor(stream: EventStream, *, batched: bool = False) -> Callable[[F], F]:
    """Subscribe the decorated function's service to ``stream``."""

    def register(function: F) -> F:
        group = registry.service_of_module(function.__module__)
        found = Processor(stream=stream, function=function, batched=batched, group=group)
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
