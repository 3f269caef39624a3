"""Where spans go and how the admin reads them: OTLP when an endpoint is
set, else a bounded store (Redis or memory); traces filtered, waterfalls
with the spans that link to a trace."""

from __future__ import annotations

import uuid

import pytest
import redis
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ucloud.observe import spanstore, tracing
from ucloud.observe.storebatch import StoreBatchProcessor
from ucloud.observe.traces import recent_traces, waterfall
from ucloud.templatetags import ucloud_observe


def span(trace: str, span_id: str, name: str, *, parent: str = "", start: float = 0.0,
         ms: float = 1.0, error: bool = False, links: list | None = None) -> dict:  # fmt: skip
    found = {"trace_id": trace, "span_id": span_id, "parent_id": parent, "name": name,
             "kind": "server", "start": start, "duration_ms": ms, "error": error}  # fmt: skip
    return {**found, "attributes": {}, "links": links or [], "service": "files", "process": "h:1"}


RECORDS = [
    span("t1", "a", "files.share", start=10.0, ms=40.0),
    span("t1", "b", "accounts.retrieve_user", parent="a", start=10.01, ms=5.0),
    span("t2", "c", "files.create", start=20.0, ms=2.0, error=True),
    span(
        "t3",
        "d",
        "process files.events",
        start=10.05,
        ms=3.0,
        links=[{"trace_id": "t1", "span_id": "a"}],
    ),
]


def test_spans_go_to_an_otlp_collector_when_an_endpoint_is_set(monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")

    assert tracing.otlp_configured()
    assert isinstance(tracing._exporter(), OTLPSpanExporter)
    processor = tracing._processor()
    assert isinstance(processor, BatchSpanProcessor)
    processor.shutdown()


def test_a_memory_store_takes_each_span_as_it_ends(monkeypatch, settings):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    settings.UCLOUD = {**settings.UCLOUD, "REDIS_URL": None, "EVENTS_URL": None}
    monkeypatch.setattr(spanstore, "events_url", lambda: None)

    processor = tracing._processor()

    assert isinstance(processor, spanstore.MemoryProcessor)


def test_a_redis_store_takes_spans_in_batches_off_the_serving_thread(
    monkeypatch, settings, redis_url
):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    settings.UCLOUD = {**settings.UCLOUD, "REDIS_URL": redis_url}

    processor = tracing._processor()

    assert isinstance(processor, StoreBatchProcessor)
    assert isinstance(processor.store, spanstore.RedisStore)
    processor.shutdown()


def test_traceparent_round_trips_and_refuses_garbage():
    value = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    context = tracing.parse_traceparent(value)

    assert context is not None
    assert tracing.traceparent(context) == value
    for bad in ("", "00-zz-b7ad6b7169203331-01", "00-" + "0" * 32 + "-" + "0" * 16 + "-01"):
        assert tracing.parse_traceparent(bad) is None


def test_the_memory_store_keeps_the_newest_spans_only():
    store = spanstore.MemoryStore(3)
    store.add(RECORDS[:2])
    store.add(RECORDS[2:])

    assert [record["span_id"] for record in store.records()] == ["d", "c", "b"]


def test_the_redis_store_is_shared_and_bounded(redis_url):
    store = spanstore.RedisStore(redis_url, 3, key=f"ucloud:test:spans:{uuid.uuid4().hex}")
    try:
        store.add(RECORDS)
        other_process = spanstore.RedisStore(redis_url, 3, key=store.key)
        assert [record["span_id"] for record in other_process.records()] == ["d", "c", "b"]
    finally:
        store.clear()


def test_spans_stored_compact_in_redis_read_back_as_the_records_they_stand_for(redis_url):
    # The kit writes each span as the JSON array of its compact tuple; the
    # reader makes the record. Everything a record shows must survive the
    # trip: 128-bit ids, links, an error, attributes of a sequence.
    compact = (
        (1 << 127) + 5, (1 << 63) + 7, 9, "files.share", "server", 1_000_000_000,
        3_500_000_000, True, {"ucloud.transport": "remote", "tags": ("a", "b")},
        (((1 << 100) + 1, 2),), "files", "host:41",
    )  # fmt: skip
    store = spanstore.RedisStore(redis_url, 5, key=f"ucloud:test:spans:{uuid.uuid4().hex}")
    try:
        store.add(RECORDS[:1])  # a record written as a record still reads back
        store.add_compacts([compact])
        newest, oldest = spanstore.RedisStore(redis_url, 5, key=store.key).records()
    finally:
        store.clear()

    assert newest == {
        **spanstore.record_from(compact),
        "attributes": {"ucloud.transport": "remote", "tags": ["a", "b"]},
    }
    assert newest["trace_id"] == f"{(1 << 127) + 5:032x}"
    assert newest["links"] == [{"trace_id": f"{(1 << 100) + 1:032x}", "span_id": f"{2:016x}"}]
    assert (newest["error"], newest["duration_ms"], newest["process"]) == (True, 2500.0, "host:41")
    assert oldest == RECORDS[0]


def test_traces_filter_by_call_errors_and_duration():
    assert [t.trace_id for t in recent_traces(RECORDS)] == ["t2", "t3", "t1"]
    assert [t.trace_id for t in recent_traces(RECORDS, call="share")] == ["t1"]
    assert [t.trace_id for t in recent_traces(RECORDS, errors_only=True)] == ["t2"]
    assert [t.trace_id for t in recent_traces(RECORDS, slower_than_ms=10)] == ["t1"]


def test_a_trace_names_each_service_of_the_processes_it_went_through():
    together = {**span("t4", "e", "files.share", start=30.0), "service": "accounts,files"}
    apart = span("t4", "f", "notifications.notify", parent="e", start=30.01)

    (summary,) = [t for t in recent_traces([together, apart]) if t.trace_id == "t4"]

    assert summary.services == ["accounts", "files"]
    assert ucloud_observe.services("accounts,files,notifications") == (
        "accounts, files, notifications"
    )
    assert ucloud_observe.services("") == ""


def test_a_waterfall_holds_the_trace_and_the_spans_linking_to_it():
    rows = waterfall(RECORDS, "t1")

    assert [(row.span["span_id"], row.depth, row.linked) for row in rows] == [
        ("a", 0, False),
        ("b", 1, False),
        ("d", 1, True),
    ]
    assert rows[0].offset == 0.0
    # The linked processor ended after the request: the timeline spans both.
    assert rows[0].width == 75.472
    assert waterfall(RECORDS, "nothing") == []


def test_named_library_instrumentations_nest_their_spans(settings, redis_url):
    settings.UCLOUD = {**settings.UCLOUD, "TRACE_INSTRUMENTATIONS": ("redis",)}
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing._instrument(provider)
    try:
        redis.Redis.from_url(redis_url).ping()
    finally:
        RedisInstrumentor().uninstrument()

    assert [span.name for span in exporter.get_finished_spans()] == ["PING"]


def test_an_unknown_instrumentation_is_refused(settings):
    settings.UCLOUD = {**settings.UCLOUD, "TRACE_INSTRUMENTATIONS": ("django-magic",)}

    with pytest.raises(ValueError, match="django-magic"):
        tracing._instrument(TracerProvider())
