"""Errors that cross service boundaries as data: ``{"why", "error_code", "errors"}``.

Services raise the subclasses; callers catch the same classes whatever the
transport was, because both sides pick the class from the status and the
error code (``exception_class``); a call declares the ones it may answer::

    raise NotFound("No such file", error_code="unknown_file")
    except NotFound as e: e.status, e.why, e.error_code     # in one process or over HTTP
    retrieve = call(..., errors=(NotFound.declare("unknown_file", "No such file"),))

A subclass that declares its own ``default_code`` is found by that code::

    class UnknownUser(NotFound):
        default_code = "unknown_user"      # (404, "unknown_user") -> UnknownUser
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


class RPCException(Exception):
    """A failed call: why it failed, its HTTP status and a machine code."""

    status_code: int = 500
    default_why: str = "Internal server error"
    default_code: str = "internal_error"

    def __init__(
        self,
        why: str | None = None,
        status: int | None = None,
        error_code: str | None = None,
        *,
        errors: Any = None,
    ) -> None:
        self.why = why or self.default_why
        self.status = status or self.status_code
        self.error_code = error_code or self.default_code
        # Field errors of a failed validation, keyed like the request.
        self.errors = errors
        super().__init__(self.why)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _register(cls)

    def body(self) -> dict[str, Any]:
        """What crosses the wire as the JSON body of the error response."""
        body: dict[str, Any] = {"why": self.why, "error_code": self.error_code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body

    def headers(self) -> dict[str, str]:
        """HTTP headers that belong to this error's response."""
        return {"WWW-Authenticate": "Bearer"} if self.status == 401 else {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.why!r}, {self.status}, {self.error_code!r})"

    @classmethod
    def declare(cls, error_code: str | None = None, description: str = "") -> DeclaredError:
        """This error as a call declares it: its status, a code and what it means."""
        return DeclaredError(
            cls.status_code, error_code or cls.default_code, description or cls.default_why, cls
        )


@dataclass(frozen=True)
class DeclaredError:
    """An error a call says it may answer (``call(..., errors=(...))``)."""

    status: int
    error_code: str
    description: str
    exception: type[RPCException] = field(default=RPCException, compare=False)


# status -> the kit's class for it; (status, code) -> a class declaring that code.
_by_status: dict[int, type[RPCException]] = {}
_by_code: dict[tuple[int, str], type[RPCException]] = {}


def _register(cls: type[RPCException]) -> None:
    # The first class declaring a status is the one for that status: the
    # kit's own, declared below before any service's subclasses.
    if "status_code" in vars(cls):
        _by_status.setdefault(cls.status_code, cls)
    if "default_code" in vars(cls):
        _by_code.setdefault((cls.status_code, cls.default_code), cls)


def exception_class(status: int, error_code: str | None = None) -> type[RPCException]:
    """The class an error with ``status`` and ``error_code`` is raised as, on any transport."""
    if error_code is not None:
        found = _by_code.get((status, error_code))
        if found is not None:
            return found
    return _by_status.get(status, RPCException)


def rebuild(status: int, body: dict[str, Any], *, retry_after: int | None = None) -> RPCException:
    """The exception of an error response, from its status, body and Retry-After."""
    error_code = str(body.get("error_code") or "remote_error")
    cls = exception_class(status, error_code)
    error = cls(str(body.get("why") or ""), status, error_code, errors=body.get("errors"))
    if isinstance(error, TooManyRequests):
        error.retry_after = retry_after
    return error


def as_json(data: Any) -> Any:
    """``data`` as it reads after a trip through JSON: string keys, plain strings."""
    return json.loads(json.dumps(data, default=str))


def normalized(error: RPCException) -> RPCException:
    """``error`` as the class and data the other side of a wire would see.

    Only status, code, why, field errors (and Retry-After) cross a wire, so
    an in-process call raises what an HTTP caller would rebuild: a subclass
    without a code of its own becomes its status's class, and field errors
    read as JSON (``{"ids": {"0": [...]}}``, not DRF's ``ErrorDetail`` keyed by int).
    """
    if error.errors is not None:
        error.errors = as_json(error.errors)
    cls = exception_class(error.status, error.error_code)
    if type(error) is cls:
        return error
    rebuilt = cls(error.why, error.status, error.error_code, errors=error.errors)
    if isinstance(rebuilt, TooManyRequests):
        rebuilt.retry_after = getattr(error, "retry_after", None)
    return rebuilt


class BadRequest(RPCException):
    status_code = 400
    default_why = "Bad request"
    default_code = "bad_request"


class Unauthorized(RPCException):
    status_code = 401
    default_why = "Authentication required"
    default_code = "unauthorized"


class Forbidden(RPCException):
    status_code = 403
    default_why = "Permission denied"
    default_code = "forbidden"


class NotFound(RPCException):
    status_code = 404
    default_why = "Not found"
    default_code = "not_found"


class MethodNotAllowed(RPCException):
    status_code = 405
    default_why = "Method not allowed"
    default_code = "method_not_allowed"


class Conflict(RPCException):
    status_code = 409
    default_why = "Conflict"
    default_code = "conflict"


class PayloadTooLarge(RPCException):
    status_code = 413
    default_why = "Request body too large"
    default_code = "body_too_large"


class UnsupportedMediaType(RPCException):
    status_code = 415
    default_why = "Unsupported media type"
    default_code = "unsupported_media_type"


class TooManyRequests(RPCException):
    """Throttled; ``retry_after`` (seconds) becomes the Retry-After header."""

    status_code = 429
    default_why = "Too many requests"
    default_code = "throttled"

    def __init__(self, *args: Any, retry_after: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        return {"Retry-After": str(self.retry_after)}


class InternalServerError(RPCException):
    status_code = 500


class BadGateway(RPCException):
    status_code = 502
    default_why = "Service unreachable"
    default_code = "bad_gateway"


class ServiceUnavailable(RPCException):
    status_code = 503
    default_why = "Service unavailable"
    default_code = "service_unavailable"


class GatewayTimeout(RPCException):
    status_code = 504
    default_why = "Service did not answer in time"
    default_code = "gateway_timeout"
