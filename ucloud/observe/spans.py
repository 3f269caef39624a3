"""The kit's own spans: what the SDK's span records, at a fraction of the cost.

Every call makes two spans (caller and callee) and an in-process call costs
tens of microseconds, so the span itself must be cheap. The SDK's span
checks each attribute under a lock, asks a sampler, makes four locks and
copies itself when it ends: about 30 µs on a 2-core machine. A ``KitSpan``
keeps the same facts in plain fields and, when it ends, hands *itself* to
the provider's span processors as the ``ReadableSpan`` they expect, so an
OTLP exporter, the admin's span store and a test's in-memory exporter see
an ordinary span. Inside it, the current span is an OpenTelemetry span like
any other: the project's own spans and the library instrumentations nest
under it::

    span = start_span(provider, "files.share", SpanKind.SERVER, {"ucloud.transport": "local"})
    token = current.enter(span)      # ucloud.observe.current
    ...
    span.end(); current.leave(token)

Sampling follows the parent (a caller that did not sample is not sampled
here either) and records every trace the kit starts, as the SDK's default
``parentbased_always_on`` does. When ``OTEL_TRACES_SAMPLER`` names another
sampler, the provider's sampler decides instead.
"""

from __future__ import annotations

import random
import time
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.context.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import (
    Link,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
)
from opentelemetry.trace.propagation import _SPAN_KEY
from opentelemetry.trace.span import DEFAULT_TRACE_STATE
from opentelemetry.util import types

from ucloud.observe import current as current_context

# As the SDK's defaults (OTEL_SPAN_*_COUNT_LIMIT): a span set by project code
# in a loop stays bounded.
MAX_ATTRIBUTES = 128
MAX_EVENTS = 128
SCOPE = InstrumentationScope("ucloud")
SAMPLED = TraceFlags(TraceFlags.SAMPLED)
UNSET = Status(StatusCode.UNSET)
_PLAIN = (str, bool, int, float)


def _clean(value: Any) -> Any:
    """An attribute value OpenTelemetry accepts, or None (then it is dropped)."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, list | tuple) and all(isinstance(item, _PLAIN) for item in value):
        return tuple(value)
    return None


def _id(bits: int) -> int:
    # Zero is the invalid id; random's generator is fast and, unlike a
    # cryptographic source, takes no system call.
    found = 0
    while not found:
        found = random.getrandbits(bits)
    return found


class KitSpan(trace.Span, ReadableSpan):
    """A recording span that is its own finished, readable form."""

    # ReadableSpan's fields that most spans never change, as class defaults:
    # a span's own dict holds only what differs (fewer stores per span).
    _events: Sequence[Event] = ()
    _links: Sequence[Link] = ()
    _status = UNSET
    _instrumentation_scope = SCOPE
    _instrumentation_info = None
    _end_time: int | None = None

    def __init__(
        self,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        kind: SpanKind,
        attributes: dict[str, Any],
        links: Sequence[Link],
        resource: Resource,
        processor: SpanProcessor,
    ) -> None:
        # ReadableSpan's fields, set directly: its constructor would make an
        # empty Resource when given none, and this one has the provider's.
        self._name = name
        self._context: SpanContext = context
        self._parent = parent
        self._kind = kind
        self._attributes: dict[str, Any] = attributes
        if links:
            self._links = tuple(links)
        self._resource = resource
        self._start_time = time.time_ns()
        # The provider's processors (``processors_of``): what tests and
        # exporters added reach these spans.
        self._processor = processor

    # -- the tracing API (what code inside the span may call) ---------------

    def get_span_context(self) -> SpanContext:
        return self._context

    def is_recording(self) -> bool:
        return self._end_time is None

    def set_attribute(self, key: str, value: types.AttributeValue) -> None:
        if self._end_time is not None or not isinstance(key, str) or not key:
            return
        cleaned = _clean(value)
        if cleaned is None:
            return
        if key in self._attributes or len(self._attributes) < MAX_ATTRIBUTES:
            self._attributes[key] = cleaned

    def set_attributes(self, attributes: Mapping[str, types.AttributeValue]) -> None:
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def add_event(
        self,
        name: str,
        attributes: types.Attributes = None,
        timestamp: int | None = None,
    ) -> None:
        if self._end_time is not None or len(self._events) >= MAX_EVENTS:
            return
        cleaned = {
            key: v for key, value in (attributes or {}).items() if (v := _clean(value)) is not None
        }
        self._events = [*self._events, Event(name, cleaned, timestamp or time.time_ns())]

    def add_link(self, context: SpanContext, attributes: types.Attributes = None) -> None:
        if self._end_time is None and context.is_valid:
            self._links = (*self._links, Link(context, attributes))

    def update_name(self, name: str) -> None:
        if self._end_time is None:
            self._name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        # As the SDK: OK is final, and a description belongs to ERROR only.
        if self._end_time is not None or self._status.status_code is StatusCode.OK:
            return
        if isinstance(status, StatusCode):
            status = Status(status, description if status is StatusCode.ERROR else None)
        if status.status_code is not StatusCode.UNSET:
            self._status = status

    def record_exception(
        self,
        exception: BaseException,
        attributes: types.Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        details: dict[str, Any] = {
            "exception.type": type(exception).__qualname__,
            "exception.message": str(exception),
            "exception.stacktrace": "".join(traceback.format_exception(exception)),
            "exception.escaped": str(escaped),
        }
        details.update(attributes or {})
        self.add_event("exception", details, timestamp)

    def end(self, end_time: int | None = None) -> None:
        if self._end_time is not None:
            return
        self._end_time = end_time or time.time_ns()
        self._processor.on_end(self)

    def parent_span_id(self) -> int:
        return self._parent.span_id if self._parent is not None else 0

    def is_error(self) -> bool:
        return self._status.status_code is StatusCode.ERROR

    def __repr__(self) -> str:
        return f'KitSpan(name="{self._name}", context={self._context})'


def start_span(
    provider: TracerProvider,
    name: str,
    kind: SpanKind,
    attributes: dict[str, Any],
    *,
    links: Sequence[Link] = (),
    context: Any = None,
    sampler_decides: bool = False,
) -> trace.Span:
    """A span under ``context``'s current span (or the current context's).

    ``attributes`` must hold plain values already (the kit's own); the span
    keeps the dict. ``sampler_decides``: ask the provider's sampler rather
    than follow the parent and record every new trace.
    """
    current = (
        current_context.current_span() if context is None else trace.get_current_span(context)
    ).get_span_context()
    parent: SpanContext | None = None
    # A SpanContext is a tuple (trace id, span id, remote, flags, state,
    # valid): unpacked at once rather than through six properties
    # (tests/ucloud/observe/test_kit_spans.py pins the order).
    state: TraceState | None
    trace_id, _, _, flags, state, valid = current
    if valid:
        parent = current
    else:
        trace_id, flags, state = _id(128), SAMPLED, None
    if sampler_decides:
        outcome = provider.sampler.should_sample(context, trace_id, name, kind, attributes, links)
        flags = SAMPLED if outcome.decision.is_sampled() else TraceFlags(TraceFlags.DEFAULT)
        state = outcome.trace_state
        if outcome.decision.is_recording():
            attributes = {**attributes, **dict(outcome.attributes or {})}
        else:
            return trace.NonRecordingSpan(SpanContext(trace_id, _id(64), False, flags, state))
    elif not flags & TraceFlags.SAMPLED:
        return trace.NonRecordingSpan(SpanContext(trace_id, _id(64), False, flags, state))
    own = SpanContext(trace_id, random.getrandbits(64) or _id(64), False, flags, state)
    span = KitSpan(
        name, own, parent, kind, attributes, links, provider.resource, processors_of(provider)
    )
    span._processor.on_start(span, parent_context=context)  # type: ignore[arg-type]
    return span


def processors_of(provider: TracerProvider) -> SpanProcessor:
    """The provider's span processors as one (a private attribute of the SDK,
    pinned in requirements.txt): what tests and exporters added reach the
    kit's spans through it."""
    return provider._active_span_processor


# The start hooks of a provider's processors: its tuple of processors when
# last asked, and whether any of them overrides ``on_start``.
_start_hooks: list[Any] = [None, True]
_new_tuple = tuple.__new__


def _needs_start_hooks(processor: SpanProcessor) -> bool:
    """Whether a processor does anything when a span starts (the kit's own act
    when spans end). Kept until the SDK's tuple of processors changes, as it
    does when a test or an exporter adds one; any other processor is asked
    every time."""
    processors = getattr(processor, "_span_processors", None)
    if processors is None:
        return True
    cached, needed = _start_hooks
    if processors is not cached:
        needed = any(type(each).on_start is not SpanProcessor.on_start for each in processors)
        _start_hooks[:] = [processors, needed]
    return bool(needed)


def valid_span_context(
    trace_id: int, span_id: int, is_remote: bool, flags: TraceFlags, state: TraceState
) -> SpanContext:
    """The span context of ids known valid (non-zero, in range), made as the
    tuple it is: ``SpanContext``'s constructor would only check them again."""
    return _new_tuple(SpanContext, (trace_id, span_id, is_remote, flags, state, True))


def start_current_span(
    provider: TracerProvider, name: str, kind: SpanKind, attributes: dict[str, Any]
) -> tuple[trace.Span, Any]:
    """``start_span`` under the current span, made current (``current.enter``)
    in the same step; returns the span and the token ``current.leave`` takes.

    Both sides of every call start their span here. Inside a request this
    code runs with cold caches (the request's own work in between), where
    its cost follows the code and objects it touches more than its Python
    calls (bench/README.md, "Observability"). So it reads the context
    variable once, makes the span context as the tuple it is (its
    constructor's checks hold by construction: ids come from ``getrandbits``
    and are never zero) and calls the processors' start hooks only when one
    has any. With another runtime context than OpenTelemetry's default, it
    is ``current.enter`` of an ordinary kit span.
    """
    variable = current_context._variable
    values: Any = None if variable is None else variable.get()
    found = trace.get_current_span() if values is None else values.get(_SPAN_KEY)
    parent: SpanContext | None = None
    state: TraceState
    if found is not None:
        parent = found.get_span_context()
        trace_id, _, _, flags, state, valid = parent
        if not valid:
            parent = None
    if parent is None:
        trace_id, flags, state = _id(128), SAMPLED, DEFAULT_TRACE_STATE
    span_id = random.getrandbits(64) or _id(64)
    span: trace.Span
    if flags & TraceFlags.SAMPLED:
        own = valid_span_context(trace_id, span_id, False, flags, state)
        processor = processors_of(provider)
        span = KitSpan(name, own, parent, kind, attributes, (), provider.resource, processor)
        if _needs_start_hooks(processor):
            processor.on_start(span, parent_context=None)  # type: ignore[arg-type]
    else:
        span = trace.NonRecordingSpan(SpanContext(trace_id, span_id, False, flags, state))
    if values is None:
        return span, current_context.enter(span)
    copied = values.copy()
    copied[_SPAN_KEY] = span
    return span, variable.set(Context(copied))  # type: ignore[union-attr]
