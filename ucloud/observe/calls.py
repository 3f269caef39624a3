"""Both sides of every call as metrics and spans (the kit's ``CallObserver``).

The callee's side runs around the pipeline (``ucloud.rpc.pipeline.execute``),
the caller's around the transport (``RPCClient.call``), in one process and
over HTTP alike; an HTTP call carries ``traceparent`` so that the callee's
span continues the caller's trace. The kit's own calls (namespace
``ucloud``: the admin asking units) are not observed::

    observers.install(calls=CallObservation(metrics=True, tracing=True))
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import MutableMapping
from types import TracebackType
from typing import Any

from opentelemetry.trace import SpanKind, Status, StatusCode

from ucloud import registry
from ucloud.contracts.calls import CallDescription
from ucloud.observe import current, metrics, tracing, window
from ucloud.observe.metrics import CallSeries

KIT_NAMESPACE = "ucloud"

# The trace id of the call a request served, for the response's Trace-Id
# header: the middleware puts a list here, the callee's span fills it in.
served_trace: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "ucloud_served_trace", default=None
)


class _Unobserved:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


UNOBSERVED = _Unobserved()


def _error_status(exc: BaseException) -> int:
    status = getattr(exc, "status", 500)
    return status if isinstance(status, int) else 500


class _Observed:
    """One side of one call: a span (made current) and, on exit, the metrics."""

    __slots__ = ("call", "kind", "labels", "name", "observation", "span", "start", "token",
                 "transport")  # fmt: skip

    def __init__(
        self,
        observation: CallObservation,
        call: CallDescription,
        name: str,
        labels: tuple[str, ...],
        kind: SpanKind,
        transport: str,
    ) -> None:
        self.observation = observation
        self.call = call
        self.name = name
        self.labels = labels
        self.kind = kind
        self.transport = transport
        self.span: Any = None
        self.token: Any = None
        self.start = 0.0

    def __enter__(self) -> _Observed:
        if self.observation.tracing:
            # Few attributes: each costs a check and a copy on the call's path;
            # the span's name is the call, its kind the side.
            self.span, self.token = tracing.start_current_span(
                self.name, self.kind, {"ucloud.transport": self.transport}
            )
        self.start = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        seconds = time.perf_counter() - self.start
        status = self.call.http.success_status if exc is None else _error_status(exc)
        if self.observation.metrics:
            self.observation.record(self.kind, self.labels, status, seconds)
        span = self.span
        if span is not None:
            # A call's usual answer goes without saying (one attribute less
            # on every call); any other status is recorded.
            if status != self.call.http.success_status:
                span.set_attribute("rpc.ucloud.status", status)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR, f"{status}"))
            if self.kind is SpanKind.SERVER:
                holder = served_trace.get()
                if holder is not None and not holder:  # no remote parent gave it
                    holder.append(span.get_span_context()[0].to_bytes(16, "big").hex())
            span.end()
            current.leave(self.token)


class CallObservation:
    """Metrics and/or spans for every call but the kit's own."""

    def __init__(self, *, metrics: bool, tracing: bool) -> None:
        self.metrics = metrics
        self.tracing = tracing
        # Per call: its service (None: the kit's own, not observed) and full name.
        self._services: dict[CallDescription, tuple[str | None, str]] = {}
        self._series: dict[tuple[Any, ...], CallSeries] = {}

    def _service(self, call: CallDescription) -> tuple[str | None, str]:
        try:
            return self._services[call]
        except KeyError:
            pass
        try:
            found: str | None = None
            if call.namespace != KIT_NAMESPACE:
                found = registry.service_of(call)
        except LookupError:
            found = call.namespace  # declared outside a service (tests, scripts)
        named = self._services[call] = (found, call.full_name)
        return named

    def serving(self, call: CallDescription, transport: str, job_id: str) -> Any:
        service, name = self._service(call)
        if service is None:
            return UNOBSERVED
        window.snapshots.ensure_running()
        return _Observed(self, call, name, (service, name, transport), SpanKind.SERVER, transport)

    def calling(self, call: CallDescription, transport: str, caller: str | None) -> Any:
        service, name = self._service(call)
        if service is None:
            return UNOBSERVED
        labels = (caller or "", service, name, transport)
        return _Observed(self, call, name, labels, SpanKind.CLIENT, transport)

    def inject(self, headers: MutableMapping[str, str]) -> None:
        if self.tracing:
            value = tracing.current_traceparent()
            if value:
                headers["traceparent"] = value

    def refused(self, call: CallDescription, transport: str, status: int) -> None:
        service, name = self._service(call)
        if service is not None and self.metrics:
            self.record(SpanKind.SERVER, (service, name, transport), status, 0.0)

    def record(self, kind: SpanKind, labels: tuple[str, ...], status: int, seconds: float) -> None:
        # The side as a bool: an enum member would be hashed by a Python
        # function on every call.
        key = (kind is SpanKind.SERVER, labels, status)
        series = self._series.get(key)
        if series is None:
            counter, histogram = (
                (metrics.SERVER_CALLS, metrics.SERVER_SECONDS)
                if kind is SpanKind.SERVER
                else (metrics.CLIENT_CALLS, metrics.CLIENT_SECONDS)
            )
            series = CallSeries(counter.labels(*labels, str(status)), histogram.labels(*labels))
            self._series[key] = series
        series.add(seconds)
