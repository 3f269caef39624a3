"""Every response names its job and its trace; an incoming trace is continued.

``ObservationMiddleware`` (in ``MIDDLEWARE``) gives the request a ``Job-Id``
when the caller sent none (the pipeline uses it for the call), continues
the trace of an incoming W3C ``traceparent``, and answers with ``Job-Id``
and ``Trace-Id`` headers, so that a user's bug report leads to its trace::

    MIDDLEWARE = [..., "ucloud.observe.middleware.ObservationMiddleware"]
    # HTTP/1.1 200 OK
    # Job-Id: 3f0c...        Trace-Id: 4bf92f3577b34da6a3ce929d0e0e4736
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from opentelemetry.trace import NonRecordingSpan

from ucloud import observers
from ucloud.observe import current, tracing
from ucloud.observe.calls import served_trace
from ucloud.rpc.pipeline import new_job_id


class ObservationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        # META rather than request.headers: the same header, without building
        # the case-insensitive copy of every header for two lookups.
        meta = request.META
        job_id = meta.get("HTTP_JOB_ID") or new_job_id()
        meta["HTTP_JOB_ID"] = job_id
        observer = observers.calls
        if observer is None or not getattr(observer, "tracing", False):
            response = self.get_response(request)
            response["Job-Id"] = job_id
            return response
        incoming = meta.get("HTTP_TRACEPARENT", "")
        parent = tracing.parse_traceparent(incoming) if incoming else None
        token = current.enter(NonRecordingSpan(parent)) if parent is not None else None
        # The trace id of the answer: a remote parent's, which the callee's
        # span continues (spares formatting it again); else the callee's.
        holder: list[str] = [] if parent is None else [incoming.split("-")[1].lower()]
        reset = served_trace.set(holder)
        try:
            response = self.get_response(request)
        finally:
            served_trace.reset(reset)
            if token is not None:
                current.leave(token)
        response["Job-Id"] = job_id
        if holder:
            response["Trace-Id"] = holder[0]
        return response
