"""The event machinery's observation hooks: the producer's trace context is
stored with the outbox row, travels in the stream entry and reaches the
processor (whose span links to it); produced, processed, retried and
dead-lettered events are counted."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import transaction
from django.test import override_settings
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from tests.ucloud.events.eventing import GROUP, deliver_until_settled, order, received, subscribe
from tests.ucloud.events.streaming import entries, events_on
from ucloud import observers
from ucloud.events.streams import Event, EventStream
from ucloud.models import OutboxEvent
from ucloud.observe import tracing

pytestmark = pytest.mark.django_db(transaction=True)


class Recorder:
    """An ``EventObserver`` that writes down what it is told."""

    def __init__(self, context: str = "") -> None:
        self.context = context
        self.calls: list[tuple[str, ...]] = []

    def trace_context(self) -> str:
        return self.context

    def produced(self, stream: str, count: int) -> None:
        self.calls.append(("produced", stream, str(count)))

    def processing(self, group: str, stream: str, events: list[Event]):
        recorder = self

        class Run:
            def __enter__(self) -> None:
                recorder.calls.append(("processing", group, *(e.trace for e in events)))

            def __exit__(self, exc_type, exc, tb) -> None:
                recorder.calls.append(("failed" if exc else "processed", group))

        return Run()

    def retried(self, group: str, stream: str) -> None:
        self.calls.append(("retried", group))

    def dead_lettered(self, group: str, stream: str) -> None:
        self.calls.append(("dead", group))


@pytest.fixture
def recorder():
    """A recorder; ``recorder.watch()`` installs it (again after any settings
    change, which installs the configured observers)."""
    saved = (observers.calls, observers.events, observers.locks)
    found = Recorder("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    found.watch = lambda: observers.install(calls=saved[0], events=found, locks=saved[2])
    yield found
    observers.install(calls=saved[0], events=saved[1], locks=saved[2])


def test_the_producers_trace_is_stored_with_the_outbox_row(orders: EventStream, recorder):
    with events_on("redis://127.0.0.1:1/0"):
        recorder.watch()
        with transaction.atomic():
            orders.produce_many([order(1), order(2)])

    assert recorder.calls == [("produced", "test.orders", "2")]
    assert {row.trace for row in OutboxEvent.objects.all()} == {recorder.context}


def test_the_trace_travels_in_the_stream_entry(streamed_orders, redis_url, recorder):
    with events_on(redis_url):
        recorder.watch()
        with transaction.atomic():
            streamed_orders.produce(order(7))

    (found,) = [received for entries_ in entries(streamed_orders, redis_url).values()
                for _, received in entries_]  # fmt: skip
    assert found.trace == recorder.context


def test_processing_sees_the_trace_and_failures_are_retried_then_dead(orders, recorder):
    attempts = []

    def fails(event: Event) -> None:
        attempts.append(event.event_id)
        raise RuntimeError("poison")

    subscribe(orders, fails)
    events = received(orders, order(1))
    events = [
        type(event)(event.event_id, event.key, event.payload, trace=recorder.context)
        for event in events
    ]

    with override_settings(UCLOUD={**settings.UCLOUD, "STREAM_MAX_ATTEMPTS": 2}):
        recorder.watch()
        deliver_until_settled(GROUP, orders, events)

    assert recorder.calls == [
        ("processing", GROUP, recorder.context),
        ("failed", GROUP),
        ("retried", GROUP),
        ("processing", GROUP, recorder.context),
        ("failed", GROUP),
        ("dead", GROUP),
    ]


def test_a_processors_span_continues_the_producers_trace(orders):
    exporter = InMemorySpanExporter()
    tracing.provider().add_span_processor(SimpleSpanProcessor(exporter))
    subscribe(orders, lambda event: None)
    with tracing.tracer().start_as_current_span("producing call") as producer:
        parent = tracing.current_traceparent()
    events = [
        type(event)(event.event_id, event.key, event.payload, trace=parent)
        for event in received(orders, order(1))
    ]

    deliver_until_settled(GROUP, orders, events)

    (span,) = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.CONSUMER]
    assert span.name == "process test.orders"
    assert span.context.trace_id == producer.get_span_context().trace_id
    assert [link.context.span_id for link in span.links] == [producer.get_span_context().span_id]
    assert span.attributes["messaging.consumer.group.name"] == GROUP
    assert trace.get_current_span() is trace.INVALID_SPAN
