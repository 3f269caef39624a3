"""Errors that cross service boundaries as data: ``{"why", "error_code"}``.

Services raise the subclasses; callers catch ``RPCException`` whatever the
transport was; a call declares the ones it may answer with ``declare``::

    raise NotFound("No such file")
    except RPCException as e: e.status, e.why, e.error_code
    retrieve = call(..., errors=(NotFound.declare("unknown_file", "No such file"),))
"""

from __future__ import annotations

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

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"why": self.why, "error_code": self.error_code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body

    def __repr__(self) -> str:
        return f"RPCException({self.why!r}, {self.status}, {self.error_code!r})"

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


class Conflict(RPCException):
    status_code = 409
    default_why = "Conflict"
    default_code = "conflict"


class InternalServerError(RPCException):
    pass


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
