"""The one mapping between exceptions and JSON error responses, both ways.

``as_rpc_exception`` turns anything raised while serving a request into an
``RPCException`` (unknown errors become a logged 500 without internals);
``error_response`` renders it, ``error_from_response`` rebuilds the same
exception class on the calling side. The pipeline, DRF (``exception_handler``)
and Django's error views (``handler404`` ...) all go through it::

    REST_FRAMEWORK = {"EXCEPTION_HANDLER": "ucloud.rpc.error_mapping.exception_handler"}
    handler404 = "ucloud.rpc.error_mapping.not_found"       # in the ROOT_URLCONF

Django's error views answer JSON for every path (never an HTML page), so
unknown paths, a wrong ``Host`` and oversized bodies get the kit's body.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from django.core import exceptions as django
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions as drf
from rest_framework.response import Response

from ucloud.contracts.errors import (
    BadRequest,
    Forbidden,
    InternalServerError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RPCException,
    TooManyRequests,
    exception_class,
    normalized,
    rebuild,
)

logger = logging.getLogger("ucloud.rpc")

_DRF_CODES = {
    drf.ParseError: ("Malformed request body", "malformed_body"),
    drf.NotAuthenticated: ("Authentication required", "unauthorized"),
    drf.AuthenticationFailed: ("Invalid credentials", "unauthorized"),
    drf.MethodNotAllowed: ("Method not allowed", "method_not_allowed"),
    drf.UnsupportedMediaType: ("Unsupported media type", "unsupported_media_type"),
    drf.NotAcceptable: ("Not acceptable", "not_acceptable"),
}


def invalid_request(errors: Any) -> BadRequest:
    """The 400 of a request that failed validation, with its field errors."""
    return BadRequest("Invalid request", error_code="invalid_request", errors=errors)


def _from_drf(exc: drf.APIException) -> RPCException:
    if isinstance(exc, drf.ValidationError):
        return invalid_request(exc.detail)
    if isinstance(exc, drf.Throttled):
        wait = getattr(exc, "wait", None)
        return TooManyRequests(retry_after=None if wait is None else max(1, round(wait)))
    why, code = _DRF_CODES.get(type(exc), (str(exc.detail), str(exc.default_code)))
    if isinstance(exc, drf.ParseError):
        why = f"{why}: {exc.detail}"
    return exception_class(exc.status_code, code)(why, exc.status_code, code)


def _from_django(exc: Exception) -> RPCException | None:
    if isinstance(exc, (Http404, django.ObjectDoesNotExist)):
        return NotFound()
    if isinstance(exc, django.PermissionDenied):
        return Forbidden()
    if isinstance(exc, django.RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, django.DisallowedHost):
        return BadRequest("Host not allowed", error_code="disallowed_host")
    if isinstance(exc, (django.SuspiciousOperation, django.BadRequest)):
        return BadRequest()
    if isinstance(exc, django.ValidationError):
        errors = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        return invalid_request(errors)
    return None


def as_rpc_exception(exc: BaseException, *, where: str = "outside a call") -> RPCException:
    """The error ``exc`` is answered with, as the class every transport raises.

    Unknown exceptions are logged on ``ucloud.rpc`` with their traceback
    (naming ``where``) and become a 500 that carries no internals.
    """
    if isinstance(exc, RPCException):
        return normalized(exc)
    if isinstance(exc, drf.APIException):
        return _from_drf(exc)
    error = _from_django(exc) if isinstance(exc, Exception) else None
    if error is not None:
        return error
    # exc_info=exc: the traceback is logged even when called outside an except block.
    logger.error("Unhandled error %s", where, exc_info=exc)
    return InternalServerError()


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's ``EXCEPTION_HANDLER``: every error as the kit's JSON body."""
    error = as_rpc_exception(exc)
    return Response(error.body(), status=error.status, headers=error.headers())


def error_response(error: RPCException) -> JsonResponse:
    """A plain Django response for ``error`` (outside DRF views)."""
    return JsonResponse(error.body(), status=error.status, headers=error.headers())


def error_from_response(
    status: int, content: bytes, headers: Mapping[str, str], *, service: str, reason: str = ""
) -> RPCException:
    """The exception an HTTP error response stands for: the class its handler raised."""
    retry_after = _seconds(headers.get("Retry-After"))
    try:
        body = json.loads(content) if content else None
    except ValueError:
        body = None
    if not isinstance(body, dict) or "why" not in body:
        # Not the kit's answer (a proxy's HTML page, say): the status still says what.
        body = {
            "why": f"{service} answered {status} {reason}".rstrip(),
            "error_code": "remote_error",
        }
    return rebuild(status, body, retry_after=retry_after)


def _seconds(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


# Django's error views (set in the ROOT_URLCONF): JSON for every path.


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    error = as_rpc_exception(exception) if exception is not None else BadRequest()
    return error_response(error)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(Forbidden())


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(NotFound(f"Nothing at {request.path}"))


def server_error(request: HttpRequest) -> HttpResponse:
    return error_response(InternalServerError())


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A refused CSRF check (``CSRF_FAILURE_VIEW``): the admin's pages keep
    Django's page for the browser; any other path the kit's JSON 403."""
    match = getattr(request, "resolver_match", None)
    if match is not None and "admin" in match.namespaces:
        return django_csrf_failure(request, reason)
    return error_response(Forbidden(f"CSRF check failed: {reason}", error_code="csrf_failed"))


def reading_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """``view`` for GET and HEAD; the kit's JSON 405 for any other method,
    and its errors in JSON too.

    For ``/status``, ``/status/live`` and ``/metrics`` (whose 405 was
    Django's empty HTML one), and for pages DRF renders as HTML or YAML (the
    API docs, the schema): their 405 came back as an HTML page, OPTIONS on
    the docs failed (500), and the schema's 404 for an unknown ``?format=``
    came back in YAML.
    """

    @csrf_exempt  # the 405 is the answer, not a CSRF page
    def reading(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            why = f"{request.method} {request.path}: use GET or HEAD"
            response = error_response(MethodNotAllowed(why))
            response["Allow"] = "GET, HEAD"
            return response
        return _error_as_json(request, view(request, *args, **kwargs))

    return reading


def _error_as_json(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    # A DRF view's error is still data here (rendered later, with the
    # renderer the page negotiated): the kit's exception handler made it.
    if response.status_code < 400 or not isinstance(response, Response):
        return response
    data = response.data
    fmt = request.GET.get("format")
    if response.status_code == 404 and fmt is not None:
        # DRF's answer to a format no renderer of the page has.
        data = {"why": f"No format {fmt[:50]!r} for {request.path}", "error_code": "not_found"}
    elif not isinstance(data, dict) or "why" not in data:
        data = {"why": f"{response.status_code} {response.reason_phrase}", "error_code": "error"}
    found = JsonResponse(data, status=response.status_code)
    for header in ("Allow", "Retry-After", "WWW-Authenticate"):
        if header in response:
            found[header] = response[header]
    return found


@csrf_exempt
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """JSON 404 for ``/api/...`` paths that no service served here answers."""
    return error_response(NotFound(f"No call at {request.path} in this process"))
