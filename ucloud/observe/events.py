"""Events as metrics and spans (the kit's ``EventObserver``).

A produced event carries the producer's ``traceparent`` in its outbox row
and its stream entry. A processor's run on one event continues that trace
(its span is a child of the producing call, and links to it); a run on a
batch starts a trace of its own that links to every producing call::

    observers.install(events=EventObservation(metrics=True, tracing=True))
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from ucloud.events.streams import Event
from ucloud.observe import current, metrics, tracing

# A span keeps at most this many links (a batch may hold 500 events).
MAX_LINKS = 32


class _Processing:
    __slots__ = ("events", "group", "observation", "span", "stream", "token")

    def __init__(
        self, observation: EventObservation, group: str, stream: str, events: Sequence[Event]
    ) -> None:
        self.observation = observation
        self.group = group
        self.stream = stream
        self.events = events
        self.span: Any = None
        self.token: Any = None

    def __enter__(self) -> _Processing:
        if self.observation.tracing:
            self.span = _processing_span(self.group, self.stream, self.events)
            self.token = current.enter(self.span)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None and self.observation.metrics:
            metrics.EVENTS_PROCESSED.labels(self.stream, self.group).inc(len(self.events))
        if self.span is not None:
            if exc is not None:
                self.span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                self.span.record_exception(exc)
            self.span.end()
            current.leave(self.token)


def _processing_span(group: str, stream: str, events: Sequence[Event]) -> Any:
    producers = [found for event in events if (found := tracing.parse_traceparent(event.trace))]
    links = [Link(context) for context in producers[:MAX_LINKS]]
    parent: Any = otel_context.Context()  # a batch: a trace of its own
    if len(events) == 1 and producers:
        parent = trace.set_span_in_context(trace.NonRecordingSpan(producers[0]))
    return tracing.start_span(
        f"process {stream}",
        SpanKind.CONSUMER,
        context=parent,
        links=links,
        attributes={
            "messaging.system": "ucloud",
            "messaging.operation.type": "process",
            "messaging.destination.name": stream,
            "messaging.consumer.group.name": group,
            "messaging.batch.message_count": len(events),
            "ucloud.events": ",".join(event.event_id for event in events[:MAX_LINKS]),
        },
    )


class EventObservation:
    def __init__(self, *, metrics: bool, tracing: bool) -> None:
        self.metrics = metrics
        self.tracing = tracing

    def trace_context(self) -> str:
        return tracing.current_traceparent() if self.tracing else ""

    def produced(self, stream: str, count: int) -> None:
        if self.metrics:
            metrics.EVENTS_PRODUCED.labels(stream).inc(count)

    def processing(self, group: str, stream: str, events: Sequence[Event]) -> _Processing:
        return _Processing(self, group, stream, events)

    def retried(self, group: str, stream: str) -> None:
        if self.metrics:
            metrics.EVENTS_RETRIED.labels(stream, group).inc()

    def dead_lettered(self, group: str, stream: str) -> None:
        if self.metrics:
            metrics.EVENTS_DEAD.labels(stream, group).inc()


class LockObservation:
    """Lock acquisitions, waits and losses as metrics (the kit's ``LockObserver``)."""

    def acquisition(self, name: str, backend: str, outcome: str, waited: float) -> None:
        metrics.LOCK_ACQUISITIONS.labels(name, backend, outcome).inc()
        metrics.LOCK_WAIT_SECONDS.labels(name, backend).observe(waited)

    def lost(self, name: str, backend: str) -> None:
        metrics.LOCK_LOSSES.labels(name, backend).inc()
