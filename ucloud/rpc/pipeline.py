"""The one pipeline every call runs through, in-process or over HTTP.

Role and scope check, request validation, the handler, response
serialization, error mapping and audit happen here and only here, so a call
behaves the same whichever transport delivered it::

    data = execute(FileDescriptions.create, {"path": "/a", "size": 1}, principal,
                   handler=controller.create, job_id=new_job_id(), clients=RPCClient)
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rest_framework.exceptions import ValidationError

from ucloud import observers
from ucloud.auth.principal import Principal
from ucloud.contracts.bindings import RequestSource
from ucloud.contracts.calls import CallDescription
from ucloud.contracts.declared_errors import warn_if_undeclared
from ucloud.contracts.errors import Forbidden, Unauthorized
from ucloud.contracts.roles import Role
from ucloud.rpc.context import CallContext
from ucloud.rpc.error_mapping import as_rpc_exception, invalid_request
from ucloud.rpc.prepared import prepared, represent, validate_data
from ucloud.rpc.request_data import body_errors
from ucloud.rpc.transaction_guard import CallInProgress

if TYPE_CHECKING:
    from ucloud.rpc.client import RPCClient

Handler = Callable[[CallContext], Any]


def new_job_id() -> str:
    """128 random bits as 32 hex digits, like nginx's ``$request_id``."""
    # A correlation id, not a secret: Python's generator, not os.urandom,
    # whose system call lets a busy thread (the span exporter) take the GIL
    # for a whole switch interval in the middle of a call.
    return f"{random.getrandbits(128):032x}"


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
    (``ucloud.rpc.request_data``)."""
    data = {} if data is None else data
    errors: dict[str, Any] = {}
    validated = None
    try:
        validated = validate_data(call.request, data)
    except ValidationError as exc:
        detail = exc.detail
        errors = detail if isinstance(detail, dict) else {"non_field_errors": detail}
    strict: dict[str, Any] = {}
    if call.http.source is RequestSource.BODY:
        strict = body_errors(prepared(call.request), data)
    if not errors and not strict:
        return validated
    raise invalid_request({**errors, **strict})


def execute(
    call: CallDescription,
    data: Any,
    principal: Principal,
    *,
    handler: Handler,
    job_id: str,
    caused_by: str | None = None,
    client_address: str | None = None,
    clients: type[RPCClient],
    transport: str = "local",
    user_agent: str | None = None,
) -> Any:
    """Run ``call`` for ``principal``; return response data or raise ``RPCException``.

    ``clients`` is the client class the handler's onward calls use
    (``ctx.client``): the transport or server running the call passes it.
    ``transport`` says how the call arrived (``local`` or ``remote``), for
    the observers (``ucloud.observers``: metrics, spans); ``user_agent`` and
    ``client_address`` are for the audit trail.
    """
    observer = observers.calls
    args = (call, data, principal, handler, job_id, caused_by, client_address, clients, user_agent)
    if observer is None:
        return _run(*args)
    with observer.serving(call, transport, job_id):
        return _run(*args)


def _run(
    call: CallDescription,
    data: Any,
    principal: Principal,
    handler: Handler,
    job_id: str,
    caused_by: str | None,
    client_address: str | None,
    clients: type[RPCClient],
    user_agent: str | None,
) -> Any:
    started = time.perf_counter()
    status = call.http.success_status
    # Warns (outside the error mapping) of a call joining another service's transaction.
    in_progress = CallInProgress(call)
    try:
        authorize(call, principal)
        request = validate(call, data)
        ctx = CallContext(
            call, request, principal, job_id, caused_by, client_address, clients=clients
        )
        with in_progress:
            result = handler(ctx)
        return represent(call.response, result)
    except Exception as exc:
        error = as_rpc_exception(exc, where=f"in {call.full_name}")
        status = error.status
        warn_if_undeclared(call, error)
        if error is exc:
            raise
        raise error from exc
    finally:
        # Audited calls and refusals (401, 403), on every transport.
        trail = observers.audit
        if trail is not None and trail.is_audited(call, status):
            trail.record_call(
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
