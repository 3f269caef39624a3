"""Turn any exception raised while serving a call into a JSON error response.

``Controller`` uses this handler; it can also be set for a whole project::

    REST_FRAMEWORK = {"EXCEPTION_HANDLER": "ucloud.errors.exception_handler"}
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions as drf
from rest_framework.response import Response

from ucloud.exceptions import NotFound, RPCException

logger = logging.getLogger("ucloud.rpc")

_DRF_CODES = {
    drf.ParseError: ("Malformed request body", "malformed_body"),
    drf.NotAuthenticated: ("Authentication required", "unauthorized"),
    drf.AuthenticationFailed: ("Invalid credentials", "unauthorized"),
    drf.MethodNotAllowed: ("Method not allowed", "method_not_allowed"),
    drf.UnsupportedMediaType: ("Unsupported media type", "unsupported_media_type"),
    drf.NotAcceptable: ("Not acceptable", "not_acceptable"),
}


def _from_drf(exc: drf.APIException) -> RPCException:
    why, code = _DRF_CODES.get(type(exc), (str(exc.detail), str(exc.default_code)))
    errors = exc.detail if isinstance(exc, drf.ValidationError) else None
    if isinstance(exc, drf.ParseError):
        why = f"{why}: {exc.detail}"
    return RPCException(why, exc.status_code, code, errors=errors)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        error: RPCException = NotFound()
    elif isinstance(exc, drf.APIException):
        error = _from_drf(exc)
    elif isinstance(exc, RPCException):
        error = exc
    else:
        # exc_info=exc: the traceback is logged even when called outside an except block.
        logger.error("Unhandled error outside a call", exc_info=exc)
        error = RPCException()
    response = Response(error.body(), status=error.status)
    if error.status == 401:
        response["WWW-Authenticate"] = "Bearer"
    return response


@csrf_exempt
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """JSON 404 for ``/api/...`` paths that no service served here answers."""
    return JsonResponse(NotFound(f"No call at {request.path} in this process").body(), status=404)
