"""OpenTelemetry for the kit: this process's tracer and where its spans go.

Spans go to an OTLP collector when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set, over HTTP/protobuf with the
exporter's standard variables; otherwise to the recent-spans store the
admin reads (``ucloud.observe.spanstore``). The provider is made on first
use in each process (after a fork, too), never at import::

    span = start_span("files.share", SpanKind.SERVER, {"ucloud.transport": "local"})
    span, token = start_current_span("files.share", SpanKind.SERVER, {})  # and current
    traceparent(span.get_span_context())     # "00-4bf9...-00f0...-01"
    provider().add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))  # tests
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.span import DEFAULT_TRACE_STATE

from ucloud import serving
from ucloud.observe import current, spans, spanstore
from ucloud.observe.storebatch import StoreBatchProcessor
from ucloud.settings import ucloud_settings

INSTRUMENTATION_NAME = "ucloud"
# How often the batch processors hand spans to the store or collector (ms):
# often enough that the admin shows a request a second after it ended.
EXPORT_DELAY_MS = 1000
# Spans waiting for export; past it, the OTLP processor drops new spans (and
# logs it), the store's the oldest: a busy process makes thousands of calls
# a second, two spans each.
EXPORT_QUEUE = 16384
EXPORT_BATCH = 2048

_lock = threading.Lock()
_state: dict[str, Any] = {
    "pid": 0,
    "provider": None,
    "tracer": None,
    "sampler_decides": False,
}


def _forget_after_fork() -> None:
    # The child makes its own provider on first use: its parent's export
    # thread did not come along, and its spans name the child's process id.
    _state.update(pid=0, provider=None, tracer=None)


os.register_at_fork(after_in_child=_forget_after_fork)


def otlp_configured() -> bool:
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def _exporter() -> SpanExporter:
    """The OTLP exporter (its endpoint and options from the standard variables)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def _processor() -> SpanProcessor:
    """Spans to an OTLP collector in batches; else to the store: a memory
    store takes each as it ends, a Redis store in batches off the serving
    thread."""
    if otlp_configured():
        return BatchSpanProcessor(
            _exporter(),
            schedule_delay_millis=EXPORT_DELAY_MS,
            max_queue_size=EXPORT_QUEUE,
            max_export_batch_size=EXPORT_BATCH,
        )
    store = spanstore.configured_store()
    if isinstance(store, spanstore.MemoryStore):
        return spanstore.MemoryProcessor(store)
    return StoreBatchProcessor(store, interval=EXPORT_DELAY_MS / 1000, capacity=EXPORT_QUEUE)


def _resource() -> Resource:
    try:
        served = ",".join(sorted(serving.served_services()))
    except Exception:  # misconfigured services: still trace, under a plain name
        served = "ucloud"
    name = os.environ.get("OTEL_SERVICE_NAME") or served or "ucloud"
    return Resource.create(
        {"service.name": name, "host.name": socket.gethostname(), "process.pid": os.getpid()}
    )


def provider() -> TracerProvider:
    """This process's tracer provider (made on first use, again after a fork)."""
    found: TracerProvider | None = _state["provider"]
    if found is not None and _state["pid"] == os.getpid():
        return found
    with _lock:
        if _state["provider"] is None or _state["pid"] != os.getpid():
            made = TracerProvider(resource=_resource())
            made.add_span_processor(_processor())
            _instrument(made)
            _state.update(
                pid=os.getpid(),
                provider=made,
                tracer=made.get_tracer("ucloud"),
                # The SDK reads the same variable for the provider's sampler.
                sampler_decides=bool(os.environ.get("OTEL_TRACES_SAMPLER")),
            )
            # Code of the project that traces with the global API nests under
            # the kit's spans; only the first provider of a process can be
            # global (a forked child keeps its parent's, which still works).
            if not isinstance(trace.get_tracer_provider(), TracerProvider):
                trace.set_tracer_provider(made)
        return _state["provider"]


def tracer() -> trace.Tracer:
    if _state["pid"] != os.getpid() or _state["tracer"] is None:
        provider()
    tracer_: trace.Tracer = _state["tracer"]
    return tracer_


def start_span(
    name: str,
    kind: SpanKind,
    attributes: dict[str, Any],
    *,
    links: Sequence[Link] = (),
    context: Any = None,
) -> trace.Span:
    """One of the kit's spans (``ucloud.observe.spans``) from this process's provider."""
    made = _state["provider"]
    if made is None or _state["pid"] != os.getpid():
        made = provider()
    return spans.start_span(
        made,
        name,
        kind,
        attributes,
        links=links,
        context=context,
        sampler_decides=_state["sampler_decides"],
    )


def start_current_span(
    name: str, kind: SpanKind, attributes: dict[str, Any]
) -> tuple[trace.Span, Any]:
    """A kit span under the current one, made current; with the token that
    ``current.leave`` takes (``spans.start_current_span``)."""
    # No process id check (a system call): a forked child forgets the
    # provider at the fork (``_forget_after_fork``).
    made = _state["provider"]
    if made is None:
        made = provider()
    if _state["sampler_decides"]:
        span = start_span(name, kind, attributes)
        return span, current.enter(span)
    return spans.start_current_span(made, name, kind, attributes)


def flush() -> None:
    """Hand every finished span of this process to its exporter now."""
    if _state["provider"] is not None and _state["pid"] == os.getpid():
        _state["provider"].force_flush()


def _instrument(made: TracerProvider) -> None:
    """The library instrumentations ``TRACE_INSTRUMENTATIONS`` names."""
    for name in ucloud_settings.TRACE_INSTRUMENTATIONS or ():
        if name == "psycopg":
            from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

            PsycopgInstrumentor().instrument(tracer_provider=made, skip_dep_check=True)
        elif name == "redis":
            from opentelemetry.instrumentation.redis import RedisInstrumentor

            RedisInstrumentor().instrument(tracer_provider=made)
        elif name == "celery":
            from opentelemetry.instrumentation.celery import CeleryInstrumentor

            CeleryInstrumentor().instrument(tracer_provider=made)
        else:
            raise ValueError(f"Unknown TRACE_INSTRUMENTATIONS entry {name!r}")


def traceparent(context: SpanContext) -> str:
    """The W3C ``traceparent`` of a span context ("" when it is not valid)."""
    # Unpacked as a tuple, as spans.start_span does: once per HTTP call.
    trace_id, span_id, _, flags, _, valid = context
    if not valid:
        return ""
    # Bytes to hex rather than a format spec per number: the same text, and
    # about a third less time with cold caches, as inside a request.
    return "-".join(
        ("00", trace_id.to_bytes(16, "big").hex(), span_id.to_bytes(8, "big").hex(),
         (flags & 0xFF).to_bytes(1, "big").hex())
    )  # fmt: skip


def current_traceparent() -> str:
    return traceparent(current.current_span().get_span_context())


def parse_traceparent(value: str) -> SpanContext | None:
    """The remote span context of a ``traceparent``; None when malformed."""
    parts = value.split("-")
    if len(parts) != 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
        return None
    try:
        trace_id, span_id = int(parts[1], 16), int(parts[2], 16)
        flags = TraceFlags(int(parts[3], 16) & 0xFF)
    except ValueError:
        return None
    if not trace_id or not span_id:  # all zeros: invalid (32 and 16 digits fit their ranges)
        return None
    return spans.valid_span_context(trace_id, span_id, True, flags, DEFAULT_TRACE_STATE)
