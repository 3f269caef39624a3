"""Traces in one process: one request to files.share is one trace holding its
server span, the client and server spans of the accounts call and the
notifications processor's span (linked to the producing call); over HTTP
the callee continues the caller's trace from ``traceparent``."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from apps.accounts.api import AccountDescriptions
from apps.files.api import files_events
from ucloud import observers
from ucloud.events.processors import Processor
from ucloud.events.streams import Event
from ucloud.observe import tracing
from ucloud.observe.events import EventObservation
from ucloud.rpc.client import RPCClient

pytestmark = pytest.mark.django_db(transaction=True)


def _hex(number: int, width: int) -> str:
    return f"{number:0{width}x}"


def test_one_share_is_one_trace_from_the_request_to_the_processor(spans, alice):
    file_id = alice.create("/docs/a.txt")
    spans.clear()

    response = alice.post("/api/files/share", {"id": file_id, "username": "bob"})

    assert response.status_code == 200
    found = {(span.name, span.kind): span for span in spans.get_finished_spans()}
    server = found[("files.share", SpanKind.SERVER)]
    client = found[("accounts.retrieve_user", SpanKind.CLIENT)]
    callee = found[("accounts.retrieve_user", SpanKind.SERVER)]
    processor = found[("process files.events", SpanKind.CONSUMER)]
    trace_id = server.context.trace_id
    assert {span.context.trace_id for span in found.values()} == {trace_id}
    assert client.parent.span_id == server.context.span_id
    assert callee.parent.span_id == client.context.span_id
    assert [link.context.span_id for link in processor.links] == [server.context.span_id]
    assert client.attributes["ucloud.transport"] == "local"
    # The usual answer (200) is implied; other statuses are recorded.
    assert "rpc.ucloud.status" not in server.attributes
    # The response leads to the trace.
    assert response["Trace-Id"] == _hex(trace_id, 32)
    assert len(response["Job-Id"]) == 32


def test_a_failed_call_is_an_error_span_with_its_status(spans, alice):
    response = alice.post("/api/files/share", {"id": 999, "username": "bob"})

    assert response.status_code == 404
    (server,) = [span for span in spans.get_finished_spans() if span.name == "files.share"]
    assert server.attributes["rpc.ucloud.status"] == 404
    # A 4xx is an answer, not a failure of the callee.
    assert server.status.is_ok


def test_an_http_call_carries_traceparent_and_the_callee_continues_the_trace(
    spans, live_server, alice, settings
):
    settings.UCLOUD = {**settings.UCLOUD, "SERVICE_URLS": {"accounts": live_server.url}}
    client = RPCClient.for_service("files", force_http=True)
    root = tracing.tracer().start_span("test root")
    with trace.use_span(root, end_on_exit=True):
        AccountDescriptions.retrieve_user.call({"username": "bob"}, client)

    by_kind = {
        span.kind: span for span in spans.get_finished_spans() if span.name.startswith("accounts")
    }
    client_span, server_span = by_kind[SpanKind.CLIENT], by_kind[SpanKind.SERVER]
    assert client_span.attributes["ucloud.transport"] == "remote"
    assert server_span.attributes["ucloud.transport"] == "remote"
    assert server_span.context.trace_id == root.context.trace_id
    assert server_span.parent.span_id == client_span.context.span_id


def test_a_response_names_the_trace_the_caller_sent(client, alice):
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    response = client.get(
        "/api/files/browse", {"items_per_page": 5}, HTTP_TRACEPARENT=traceparent, **alice.auth
    )

    assert response.status_code == 200
    assert response["Trace-Id"] == "0af7651916cd43dd8448eb211c80319c"


def test_a_batch_of_events_from_several_calls_gets_a_trace_linking_to_each(spans):
    producers = ["00-" + f"{n:032x}" + "-" + f"{n:016x}" + "-01" for n in (1, 2)]
    events = [
        Event(f"e{n}", "files.events", str(n), {}, trace=trace) for n, trace in enumerate(producers)
    ]
    observation = EventObservation(metrics=False, tracing=True)

    with observation.processing("notifications", files_events.name, events):
        pass

    (span,) = spans.get_finished_spans()
    assert span.parent is None
    assert [(link.context.trace_id, link.context.span_id) for link in span.links] == [
        (1, 1),
        (2, 2),
    ]


def test_a_processor_failure_marks_its_span_as_an_error(spans):
    def broken(event: Event) -> None:
        raise RuntimeError("boom")

    proc = Processor(files_events, broken, batched=False, group="notifications")
    event = Event("7c9e6679-7425-40de-944b-e07fc1f90ae7", "files.events", "7", {})

    failure = proc._run_one(event)

    assert failure is not None
    (span,) = [span for span in spans.get_finished_spans() if span.kind is SpanKind.CONSUMER]
    assert not span.status.is_ok


def test_switched_off_nothing_is_observed_and_responses_still_name_their_job(
    spans, alice, settings
):
    settings.UCLOUD = {**settings.UCLOUD, "METRICS": False, "TRACING": False}

    response = alice.client.get("/api/files/browse", {"items_per_page": 5}, **alice.auth)

    assert (observers.calls, observers.events, observers.locks) == (None, None, None)
    assert spans.get_finished_spans() == ()
    assert len(response["Job-Id"]) == 32
    assert "Trace-Id" not in response
