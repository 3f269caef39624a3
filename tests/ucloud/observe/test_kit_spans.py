"""The kit's own spans behave as the SDK's do for processors, exporters and code inside them."""

from __future__ import annotations

import os
import uuid

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import (
    Link,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
)

from ucloud.observe import current, spans, spanstore, tracing

REMOTE = SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))


@pytest.fixture
def caught() -> tuple[TracerProvider, InMemorySpanExporter]:
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def test_a_kit_span_reaches_the_processors_as_a_readable_span(caught):
    provider, exporter = caught
    span = spans.start_span(provider, "files.share", SpanKind.SERVER, {"ucloud.transport": "local"})
    span.set_attribute("rpc.ucloud.status", 404)
    span.end()
    span.set_attribute("after.end", "ignored")

    (finished,) = exporter.get_finished_spans()
    assert isinstance(finished, ReadableSpan)
    assert finished.name == "files.share"
    assert finished.kind is SpanKind.SERVER
    assert dict(finished.attributes or {}) == {
        "ucloud.transport": "local",
        "rpc.ucloud.status": 404,
    }
    assert finished.parent is None
    assert finished.resource is provider.resource
    assert finished.start_time is not None
    assert finished.end_time is not None
    assert finished.end_time >= finished.start_time
    assert finished.context.trace_flags.sampled


def test_code_inside_a_kit_span_nests_under_it(caught):
    provider, exporter = caught
    outer = spans.start_span(provider, "files.share", SpanKind.SERVER, {})
    token = otel_context.attach(trace.set_span_in_context(outer))
    try:
        with provider.get_tracer("project").start_as_current_span("project work"):
            inner = spans.start_span(provider, "accounts.lookup", SpanKind.CLIENT, {})
            inner.end()
    finally:
        otel_context.detach(token)
        outer.end()

    by_name = {span.name: span for span in exporter.get_finished_spans()}
    trace_ids = {span.context.trace_id for span in by_name.values()}
    assert len(trace_ids) == 1
    assert by_name["project work"].parent.span_id == outer.get_span_context().span_id
    assert by_name["accounts.lookup"].parent.span_id == by_name["project work"].context.span_id


def test_a_remote_parent_is_continued_and_its_decision_followed(caught):
    provider, exporter = caught
    sampled = trace.set_span_in_context(trace.NonRecordingSpan(REMOTE))
    span = spans.start_span(provider, "files.share", SpanKind.SERVER, {}, context=sampled)
    span.end()
    unsampled = trace.set_span_in_context(
        trace.NonRecordingSpan(SpanContext(0xABC, 0xDEF, True, TraceFlags(TraceFlags.DEFAULT)))
    )
    skipped = spans.start_span(provider, "files.share", SpanKind.SERVER, {}, context=unsampled)
    skipped.end()

    (finished,) = exporter.get_finished_spans()
    assert finished.context.trace_id == 0xABC
    assert finished.parent.span_id == 0xDEF
    assert not skipped.is_recording()
    assert skipped.get_span_context().trace_id == 0xABC  # the trace id still travels on


def test_a_span_context_unpacks_in_the_order_the_kit_reads_it():
    # spans.start_span unpacks the parent's context as a tuple rather than
    # through its properties: an OpenTelemetry that changes the layout fails here.
    context = SpanContext(0xABC, 0xDEF, True, TraceFlags(TraceFlags.SAMPLED))
    trace_id, span_id, remote, flags, state, valid = context
    assert (trace_id, span_id, remote, flags, state, valid) == (
        context.trace_id,
        context.span_id,
        context.is_remote,
        context.trace_flags,
        context.trace_state,
        context.is_valid,
    )
    assert not trace.INVALID_SPAN_CONTEXT[5]


def test_a_configured_sampler_decides_when_asked():
    provider = TracerProvider(sampler=ALWAYS_OFF)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    span = spans.start_span(provider, "files.share", SpanKind.SERVER, {}, sampler_decides=True)
    span.end()

    assert not span.is_recording()
    assert exporter.get_finished_spans() == ()


def test_status_events_and_links_follow_the_sdk_rules(caught):
    provider, exporter = caught
    span = spans.start_span(
        provider, "process files.events", SpanKind.CONSUMER, {}, links=[Link(REMOTE)]
    )
    span.set_status(StatusCode.ERROR, "boom")
    span.set_attribute("not.plain", object())
    span.set_attribute("a.list", [1, 2])
    try:
        raise ValueError("bad payload")
    except ValueError as exc:
        span.record_exception(exc)
    span.update_name("process files.events (retry)")
    span.end()
    span.set_status(Status(StatusCode.OK))  # after the end: ignored

    (finished,) = exporter.get_finished_spans()
    assert finished.name == "process files.events (retry)"
    assert finished.status.status_code is StatusCode.ERROR
    assert finished.status.description == "boom"
    assert dict(finished.attributes or {}) == {"a.list": (1, 2)}
    (event,) = finished.events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "ValueError"
    assert "bad payload" in event.attributes["exception.stacktrace"]
    assert [link.context.span_id for link in finished.links] == [0xDEF]


def test_an_ok_status_is_final_as_in_the_sdk(caught):
    provider, exporter = caught
    span = spans.start_span(provider, "x", SpanKind.INTERNAL, {})
    span.set_status(Status(StatusCode.OK))
    span.set_status(StatusCode.ERROR, "too late")
    span.end()

    assert exporter.get_finished_spans()[0].status.status_code is StatusCode.OK


def test_attributes_are_bounded(caught):
    provider, exporter = caught
    span = spans.start_span(provider, "x", SpanKind.INTERNAL, {})
    for number in range(spans.MAX_ATTRIBUTES + 10):
        span.set_attribute(f"key.{number}", number)
    span.end()

    assert len(exporter.get_finished_spans()[0].attributes or {}) == spans.MAX_ATTRIBUTES


def test_the_otlp_encoder_takes_kit_spans(caught):
    provider, exporter = caught
    span = spans.start_span(
        provider, "files.share", SpanKind.CLIENT, {"ucloud.transport": "remote"}
    )
    span.add_event("retry", {"attempt": 2})
    span.end()

    encoded = encode_spans(exporter.get_finished_spans())

    (resource_spans,) = encoded.resource_spans
    (scope_spans,) = resource_spans.scope_spans
    assert scope_spans.scope.name == "ucloud"
    (otlp_span,) = scope_spans.spans
    assert otlp_span.name == "files.share"
    assert otlp_span.trace_id == span.get_span_context().trace_id.to_bytes(16, "big")


def test_the_memory_store_makes_records_of_spans_only_when_read(caught):
    provider, _ = caught
    store = spanstore.MemoryStore(2)
    made = []
    for name in ("a", "b", "c"):
        span = spans.start_span(provider, name, SpanKind.SERVER, {})
        span.end()
        made.append(span)

    store.add_compacts([spanstore.compact_of(span) for span in made])

    assert [record["name"] for record in store.records()] == ["c", "b"]
    assert store.records()[0]["span_id"] == f"{made[2].get_span_context().span_id:016x}"


def test_the_process_tracer_makes_kit_spans():
    span = tracing.start_span("files.share", SpanKind.SERVER, {"ucloud.transport": "local"})
    span.end()

    assert isinstance(span, spans.KitSpan)


def test_the_redis_store_keeps_the_newest_spans_of_a_batch(caught, redis_url):
    provider, _ = caught
    store = spanstore.RedisStore(redis_url, 2, key=f"ucloud:test:spans:{uuid.uuid4().hex}")
    made = []
    for name in ("a", "b", "c"):
        span = spans.start_span(provider, name, SpanKind.SERVER, {})
        span.end()
        made.append(span)
    try:
        store.add_compacts([spanstore.compact_of(span) for span in made])
        assert [record["name"] for record in store.records()] == ["c", "b"]
    finally:
        store.clear()


def _start_current(provider: TracerProvider, name: str) -> tuple[trace.Span, object]:
    return spans.start_current_span(provider, name, SpanKind.CLIENT, {})


def test_a_current_span_continues_the_current_trace_and_becomes_current(caught):
    provider, exporter = caught
    outer, outer_token = _start_current(provider, "files.share")
    assert trace.get_current_span() is outer
    inner, inner_token = _start_current(provider, "accounts.lookup")
    assert trace.get_current_span() is inner
    current.leave(inner_token)
    inner.end()
    assert trace.get_current_span() is outer
    current.leave(outer_token)
    outer.end()
    assert trace.get_current_span() is trace.INVALID_SPAN

    by_name = {span.name: span for span in exporter.get_finished_spans()}
    assert by_name["files.share"].parent is None
    assert by_name["accounts.lookup"].parent == outer.get_span_context()
    assert by_name["accounts.lookup"].context.trace_id == outer.get_span_context().trace_id
    # The context made as a tuple is what the constructor would have made.
    made = inner.get_span_context()
    assert made == SpanContext(made.trace_id, made.span_id, False, made.trace_flags)
    assert made.is_valid
    assert not made.is_remote
    assert made.trace_state == TraceState()


def test_a_current_span_follows_an_unsampled_parent(caught):
    provider, exporter = caught
    unsampled = SpanContext(0xABC, 0xDEF, True, TraceFlags(TraceFlags.DEFAULT))
    parent_token = current.enter(trace.NonRecordingSpan(unsampled))
    try:
        span, token = _start_current(provider, "files.share")
        current.leave(token)
        span.end()
    finally:
        current.leave(parent_token)

    assert not span.is_recording()
    assert span.get_span_context().trace_id == 0xABC
    assert exporter.get_finished_spans() == ()


def test_start_hooks_run_for_processors_that_have_one():
    class Starts(SpanProcessor):
        def __init__(self) -> None:
            self.started: list[str] = []

        def on_start(self, span, parent_context=None):
            self.started.append(span.name)

    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(spanstore.MemoryProcessor(spanstore.MemoryStore(10)))
    first, token = _start_current(provider, "no hook yet")
    current.leave(token)
    first.end()
    hooks = Starts()
    provider.add_span_processor(hooks)  # added later: the next span sees it
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    second, token = _start_current(provider, "hooked")
    current.leave(token)
    second.end()

    assert hooks.started == ["hooked"]
    assert [span.name for span in exporter.get_finished_spans()] == ["hooked"]
    # A processor that is not the SDK's tuple of processors is asked every
    # time, whatever another provider's processors needed before it.
    quiet = TracerProvider()
    quiet.add_span_processor(spanstore.MemoryProcessor(spanstore.MemoryStore(10)))
    assert not spans._needs_start_hooks(spans.processors_of(quiet))
    assert spans._needs_start_hooks(Starts())


def test_a_forked_child_makes_its_own_provider():
    parent = tracing.provider()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: report, then leave without running pytest's exit
        try:
            forgotten = tracing._state["provider"] is None
            span, token = tracing.start_current_span("files.share", SpanKind.SERVER, {})
            current.leave(token)
            own = tracing.provider() is not parent
            resource_pid = span.resource.attributes["process.pid"]
            os.write(write, f"{forgotten} {own} {resource_pid == os.getpid()}".encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as answer:
        reported = answer.read()
    os.waitpid(child, 0)
    assert reported == "True True True"
    assert tracing.provider() is parent
