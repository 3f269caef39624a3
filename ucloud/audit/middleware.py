"""Refusals outside the call pipeline, and failed admin logins, audited.

The pipeline records the calls it runs; this middleware records every
other 401 and 403 answer, on any path: a token refused before the call
ran (the record names the call), a CSRF failure, an admin page refused.
Failed logins of Django's own login (the admin) answer 200 with the form
again, so they are recorded from the ``user_login_failed`` signal, with
the username tried. Add it first in ``MIDDLEWARE``, so that it sees every
answer::

    MIDDLEWARE = ["ucloud.audit.middleware.RefusalAuditMiddleware", ...]
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase

from ucloud import registry
from ucloud.audit.records import REFUSALS, record
from ucloud.auth.authentication import client_address
from ucloud.auth.principal import GUEST, Principal
from ucloud.contracts.calls import CallDescription
from ucloud.contracts.roles import Role
from ucloud.rpc.pipeline import new_job_id


def call_of(request: HttpRequest) -> CallDescription | None:
    """The call served at the request's route and method, when a controller
    serves it (``ucloud.rpc.routes`` gives each route view its calls)."""
    match = getattr(request, "resolver_match", None)
    initkwargs = getattr(getattr(match, "func", None), "initkwargs", None) or {}
    calls = initkwargs.get("ucloud_calls") or {}
    method = (request.method or "").lower()
    found = calls.get("get" if method == "head" else method)
    return found if isinstance(found, CallDescription) else None


def principal_of(request: HttpRequest) -> Principal:
    """Who the request was made by, as far as it got: a session user (the
    admin), or a guest. Bearer tokens refused here name nobody."""
    user = getattr(request, "user", None)
    if isinstance(user, Principal):
        return user
    if user is not None and getattr(user, "is_authenticated", False):
        role = Role.ADMIN if getattr(user, "is_staff", False) else Role.USER
        return Principal(username=user.get_username(), role=role, scopes=())
    return GUEST


def _facts(request: HttpRequest) -> dict[str, Any]:
    headers = request.headers
    return {
        "job_id": headers.get("Job-Id") or new_job_id(),
        "caused_by": headers.get("Caused-By"),
        "client_address": client_address(request),
        "user_agent": headers.get("User-Agent"),
    }


class RefusalAuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = self.get_response(request)
        if response.status_code in REFUSALS and not getattr(request, "ucloud_audited", False):
            self.record(request, response.status_code, time.perf_counter() - started)
        return response

    def record(self, request: HttpRequest, status: int, seconds: float) -> None:
        call = call_of(request)
        service = None
        if call is not None:
            try:
                service = registry.service_of(call)
            except LookupError:
                service = None
        record(
            call_name=call.full_name
            if call is not None
            else f"HTTP {request.method} {request.path}",
            principal=principal_of(request),
            status=status,
            duration_ms=seconds * 1000,
            request=None,
            service=service,
            **_facts(request),
        )


@receiver(user_login_failed, dispatch_uid="ucloud.audit.login_failed")
def record_failed_login(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """A failed login of Django's own login form (the admin); logins through
    a call (``accounts.login``) are recorded by the pipeline, and pass no
    request here."""
    if request is None:
        return
    record(
        call_name=f"HTTP {request.method} {request.path}",
        principal=GUEST,
        status=401,
        duration_ms=0.0,
        request={"username": credentials.get("username", "")},
        **_facts(request),
    )
