"""The current span, made current and read in one step each.

Every call the kit observes makes its span current and restores the one
before (on both sides, and the callee's middleware does it once more for
a caller's ``traceparent``). Through OpenTelemetry's API that is
``context.attach(trace.set_span_in_context(span))`` and ``context.detach``:
about ten Python calls a time, and the observed calls had a hundred more
Python calls than unobserved ones, each costing a few tenths of a
microsecond inside a request (``bench/README.md``, "Observability"). With
OpenTelemetry's default runtime context (a context variable) this module
sets and resets that same variable itself, so that ``trace.get_current_span``
and every instrumentation see exactly what the API would have set; with
another runtime context (``OTEL_PYTHON_CONTEXT``) it goes through the API::

    token = enter(span)          # trace.get_current_span() is span
    current_span()               # span
    leave(token)                 # the span before is current again
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context.context import Context
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
from opentelemetry.trace import INVALID_SPAN, Span

# The key OpenTelemetry keeps the current span under: made with a random
# suffix when it is imported, so only its own constant names it.
from opentelemetry.trace.propagation import _SPAN_KEY

logger = logging.getLogger("ucloud.observe")


def _context_variable() -> ContextVar[Context] | None:
    runtime = getattr(otel_context, "_RUNTIME_CONTEXT", None)
    if type(runtime) is ContextVarsRuntimeContext:
        variable = getattr(runtime, "_current_context", None)
        if isinstance(variable, ContextVar):
            return variable
    return None


_variable = _context_variable()


def enter(span: Span) -> Any:
    """Make ``span`` current; the token ``leave`` takes."""
    variable = _variable
    if variable is None:
        return otel_context.attach(trace.set_span_in_context(span))
    values = variable.get().copy()
    values[_SPAN_KEY] = span
    return variable.set(Context(values))


def leave(token: Any) -> None:
    """Make current again the span (the context) that was before ``enter``."""
    variable = _variable
    if variable is None:
        otel_context.detach(token)
        return
    try:
        variable.reset(token)
    except (ValueError, RuntimeError):
        # As the API's detach: a token of another context or used twice is
        # a bug of the caller's, logged, never raised into the call.
        logger.exception("Failed to detach context")


def current_span() -> Span:
    """The current span; ``INVALID_SPAN`` when there is none."""
    variable = _variable
    if variable is None:
        return trace.get_current_span()
    # Only spans are stored under the key (by this module or the API), so
    # no isinstance check against the Span ABC (two Python calls a time).
    found: Span | None = variable.get().get(_SPAN_KEY)  # type: ignore[assignment]
    return INVALID_SPAN if found is None else found
