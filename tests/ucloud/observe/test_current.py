"""The kit's shortcut to the current span agrees with OpenTelemetry's API both ways."""

from __future__ import annotations

import contextvars
import logging

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import INVALID_SPAN, NonRecordingSpan, SpanContext, TraceFlags

from ucloud.observe import current

ONE = NonRecordingSpan(SpanContext(0x1, 0x2, True, TraceFlags(TraceFlags.SAMPLED)))
TWO = NonRecordingSpan(SpanContext(0x3, 0x4, False, TraceFlags(TraceFlags.SAMPLED)))


@pytest.fixture(params=["shortcut", "api"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test runs on OpenTelemetry's context variable and through the API
    (as with another runtime context)."""
    assert current._variable is not None, "the default runtime context was not recognised"
    if request.param == "api":
        monkeypatch.setattr(current, "_variable", None)
    return str(request.param)


def test_a_span_entered_is_the_apis_current_span_and_leaving_restores_the_one_before(way):
    assert current.current_span() is trace.get_current_span() is INVALID_SPAN
    outer = current.enter(ONE)
    assert trace.get_current_span() is ONE
    inner = current.enter(TWO)
    assert trace.get_current_span() is current.current_span() is TWO
    current.leave(inner)
    assert trace.get_current_span() is current.current_span() is ONE
    current.leave(outer)
    assert trace.get_current_span() is current.current_span() is INVALID_SPAN


def test_a_span_the_api_made_current_is_seen_and_other_context_values_are_kept(way):
    key = otel_context.create_key("project value")
    token = otel_context.attach(otel_context.set_value(key, "kept"))
    api = otel_context.attach(trace.set_span_in_context(ONE))
    try:
        assert current.current_span() is ONE
        entered = current.enter(TWO)
        assert otel_context.get_value(key) == "kept"
        assert trace.get_current_span() is TWO
        current.leave(entered)
        assert trace.get_current_span() is ONE
    finally:
        otel_context.detach(api)
        otel_context.detach(token)


def test_leaving_with_a_token_of_another_context_is_logged_not_raised(way, caplog):
    token = contextvars.copy_context().run(current.enter, ONE)
    with caplog.at_level(logging.ERROR):
        current.leave(token)
    assert "Failed to detach context" in caplog.text
    assert current.current_span() is INVALID_SPAN
