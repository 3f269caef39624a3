"""The errors a call may answer: those it declares and those the kit implies.

A call declares the client errors its handler answers on purpose; the kit
adds the ones any call may answer because of its request and roles (400
``invalid_request``, 401 for a missing or bad token, 403 for a refused role,
scope or calling service)::

    retrieve = call(..., errors=(NotFound.declare("unknown_file", "No such file"),))
    [(e.status, e.error_code) for e in answerable_errors(FileDescriptions.retrieve)]
    # [(400, "invalid_request"), (401, "invalid_token"), ..., (404, "unknown_file")]

A call answering a client error it does not declare warns with
``UndeclaredErrorWarning``; the test settings (``pyproject.toml``,
``filterwarnings``) turn that warning into an error, so a handler leaking
an error its contract does not list fails the tests that reach it. Server
errors (5xx) are never part of a contract and never warn.

This module imports nothing of Django, so that pytest can resolve the
warning category before Django is set up.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from ucloud.contracts.bindings import RequestSource
from ucloud.contracts.errors import BadRequest, DeclaredError, Forbidden, RPCException, Unauthorized
from ucloud.contracts.roles import Role, Roles

if TYPE_CHECKING:
    from ucloud.contracts.calls import CallDescription


class UndeclaredErrorWarning(UserWarning):
    """A call answered a client error (4xx) that it does not declare."""


_INVALID = BadRequest.declare(
    "invalid_request", "The request failed validation; `errors` lists the field errors."
)
_MALFORMED = BadRequest.declare("malformed_body", "The body is not a JSON object.")
_NO_TOKEN = Unauthorized.declare("unauthorized", "No bearer token was sent.")
_BAD_TOKENS = (
    Unauthorized.declare("invalid_token", "The bearer token is malformed or not signed by us."),
    Unauthorized.declare("token_expired", "The bearer token has expired."),
    Unauthorized.declare("wrong_audience", "The bearer token was minted for another service."),
)
_MISSING_SCOPE = Forbidden.declare("missing_scope", "The token lacks the call's scope.")
_CALLER_NOT_ALLOWED = Forbidden.declare(
    "caller_not_allowed", "A service other than the allowed callers made the call."
)


def implied_errors(call: CallDescription) -> tuple[DeclaredError, ...]:
    """What any call with this request binding and these roles may answer.

    400 for any call (a body also for malformed JSON); 401 when a token is
    accepted at all (and for a missing one unless guests may call); 403 when
    some authenticated role is refused, when only named services may call,
    and for a token lacking the scope.
    """
    implied = [_INVALID]
    if call.http.source is RequestSource.BODY:
        implied.append(_MALFORMED)
    takes_token = bool(call.roles - {Role.GUEST})
    if Role.GUEST not in call.roles:
        implied.append(_NO_TOKEN)
    if takes_token:
        implied.extend(_BAD_TOKENS)
        implied.append(_MISSING_SCOPE)
    refused = Roles.AUTHENTICATED - call.roles
    if refused:
        allowed = ", ".join(role.value for role in Role if role in call.roles)
        implied.append(
            Forbidden.declare("forbidden", f"The caller's role is not one of {allowed}.")
        )
    if call.callers is not None:
        implied.append(_CALLER_NOT_ALLOWED)
    return tuple(implied)


def answerable_errors(call: CallDescription) -> tuple[DeclaredError, ...]:
    """Implied and declared errors, by status then code; a declared error
    overrides the description of an implied one with the same code."""
    found = {(error.status, error.error_code): error for error in implied_errors(call)}
    found.update({(error.status, error.error_code): error for error in call.errors})
    return tuple(found[key] for key in sorted(found))


def is_declared(call: CallDescription, status: int, error_code: str) -> bool:
    """Whether ``call`` may answer this client error (server errors always may)."""
    if not 400 <= status < 500:
        return True
    return any(
        error.status == status and error.error_code == error_code
        for error in (*call.errors, *implied_errors(call))
    )


def warn_if_undeclared(call: CallDescription, error: RPCException) -> None:
    """Warn with ``UndeclaredErrorWarning`` when ``call`` answers ``error``
    without declaring it."""
    if is_declared(call, error.status, error.error_code):
        return
    cls = type(error)
    if cls.status_code == error.status:
        declaration = f"{cls.__name__}.declare({error.error_code!r}, '...')"
    else:  # e.g. a remote error that arrived as a plain RPCException
        declaration = f"DeclaredError({error.status}, {error.error_code!r}, '...')"
    warnings.warn(
        f"{call.full_name} answered {error.status} {error.error_code} ({error.why!r}), which "
        f"it does not declare: add {declaration} to its errors=(...), or answer a declared "
        "error.",
        UndeclaredErrorWarning,
        stacklevel=2,
    )
