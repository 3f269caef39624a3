"""The one pipeline every call runs through, in-process or over HTTP.

Role and scope check, request validation, the handler, response
serialization, error mapping and audit happen here and only here, so a call
behaves the same whichever transport delivered it::

    data = execute(FileDescriptions.create, {"path": "/a", "size": 1}, principal,
                   handler=controller.create, job_id=new_job_id())
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from ucloud import audit
from ucloud.bindings import RequestSource
from ucloud.calls import CallDescription
from ucloud.context import CallContext
from ucloud.declared_errors import warn_if_undeclared
from ucloud.errors import as_rpc_exception, invalid_request
from ucloud.exceptions import Forbidden, Unauthorized
from ucloud.principal import Principal
from ucloud.request_data import body_errors
from ucloud.roles import Role
from ucloud.transaction_guard import CallInProgress

Handler = Callable[[CallContext], Any]


def new_job_id() -> str:
    return uuid.uuid4().hex


def authorize(call: CallDescription, principal: Principal) -> None:
    """Raise 401 or 403 unless ``principal`` may make ``call``.

    Checked on every transport: the role, the calling service for calls
    restricted to named ``callers``, then the scope.
    """
    if principal.role not in call.roles:
        if principal.role is Role.GUEST:
            raise Unauthorized()
        raise Forbidden(f"{call.full_name} is not allowed for role {principal.role.value}")
    if principal.role is Role.SERVICE and call.callers is not None:
        _check_caller(call, principal)
    if principal.role is not Role.GUEST and not principal.has_scope(call.scope):
        raise Forbidden(f"Token lacks the scope {call.scope}", error_code="missing_scope")


def _check_caller(call: CallDescription, principal: Principal) -> None:
    callers = call.callers or frozenset()
    if principal.service not in callers:
        raise Forbidden(
            f"{call.full_name} may be called by the service(s) {', '.join(sorted(callers))} "
            f"only, not by {principal.service or principal.username}",
            error_code="caller_not_allowed",
        )


def validate(call: CallDescription, data: Any) -> Any:
    """The validated request; a body with fields the request does not
    declare, or values of another JSON type, is refused too
    (``ucloud.request_data``)."""
    serializer = call.request(data={} if data is None else data)
    valid = serializer.is_valid()
    strict = body_errors(serializer, data) if call.http.source is RequestSource.BODY else {}
    if valid and not strict:
        return serializer.validated_data
    raise invalid_request({**({} if valid else serializer.errors), **strict})


def execute(
    call: CallDescription,
    data: Any,
    principal: Principal,
    *,
    handler: Handler,
    job_id: str,
    caused_by: str | None = None,
    client_address: str | None = None,
    user_agent: str | None = None,
) -> Any:
    """Run ``call`` for ``principal``; return response data or raise ``RPCException``."""
    started = time.perf_counter()
    status = call.http.success_status
    # Warns (outside the error mapping) of a call joining another service's transaction.
    in_progress = CallInProgress(call)
    try:
        authorize(call, principal)
        request = validate(call, data)
        ctx = CallContext(call, request, principal, job_id, caused_by, client_address)
        with in_progress:
            result = handler(ctx)
        return call.response(result).data
    except Exception as exc:
        error = as_rpc_exception(exc, where=f"in {call.full_name}")
        status = error.status
        warn_if_undeclared(call, error)
        if error is exc:
            raise
        raise error from exc
    finally:
        # Audited calls and refusals (401, 403), on every transport.
        if audit.is_audited(call, status):
            audit.record_call(
                call,
                principal,
                status=status,
                duration_ms=(time.perf_counter() - started) * 1000,
                job_id=job_id,
                caused_by=caused_by,
                request=data,
                client_address=client_address,
                user_agent=user_agent,
            )
