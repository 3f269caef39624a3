"""Audit records: one per audited call and per refused call (401, 403).

The pipeline records every call marked ``audit=True`` and every call it
refuses with 401 or 403, on both transports; ``ucloud.audit.middleware``
records the 401 and 403 answers of any other path (a bad token refused
before the call, a CSRF failure, the admin) and failed admin logins.
A record says when, which call, who (username, role, calling service,
forwarding services; never the token), job id and caused-by, status,
duration, remote address, user agent, and the request with its secrets
masked (``redaction``). It is logged on ``ucloud.audit`` at INFO (off by
default) and, with ``UCLOUD["AUDIT"]`` (on by default), produced onto the
audit stream through the serving service's outbox (``producer``)::

    record_call(FileDescriptions.create, principal, status=200, duration_ms=1.2,
                job_id="j1", caused_by=None, request={"path": "/a", "size": 1})
"""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from rest_framework import serializers

from ucloud import registry
from ucloud.audit.cleaning import json_safe, text
from ucloud.audit.producer import buffer
from ucloud.audit.redaction import redact
from ucloud.auth.principal import Principal
from ucloud.contracts.calls import CallDescription
from ucloud.databases import alias_for
from ucloud.settings import ucloud_settings

logger = logging.getLogger("ucloud.audit")

# Refusals recorded whether or not the call is marked audit=True.
REFUSALS = frozenset({401, 403})


def is_audited(call: CallDescription, status: int) -> bool:
    return call.audit or status in REFUSALS


def record_call(
    call: CallDescription,
    principal: Principal,
    *,
    status: int,
    duration_ms: float,
    job_id: str,
    caused_by: str | None,
    request: Any,
    client_address: str | None = None,
    user_agent: str | None = None,
) -> None:
    """Record one call the pipeline ran (or refused)."""
    try:
        service: str | None = registry.service_of(call)
    except LookupError:
        service = None  # a call declared outside any service (kit tests)
    record(
        call_name=call.full_name,
        principal=principal,
        status=status,
        duration_ms=duration_ms,
        job_id=job_id,
        caused_by=caused_by,
        request=request,
        request_serializer=call.request,
        service=service,
        client_address=client_address,
        user_agent=user_agent,
    )


def record(
    *,
    call_name: str,
    principal: Principal,
    status: int,
    duration_ms: float,
    job_id: str,
    caused_by: str | None,
    request: Any,
    request_serializer: type[serializers.Serializer] | None = None,
    service: str | None = None,
    client_address: str | None = None,
    user_agent: str | None = None,
) -> None:
    """Log and produce one record; never raises (an audit failure must not
    fail the call it records: it is logged instead)."""
    try:
        entry = build(
            call_name=call_name,
            principal=principal,
            status=status,
            duration_ms=duration_ms,
            job_id=job_id,
            caused_by=caused_by,
            request=request,
            request_serializer=request_serializer,
            client_address=client_address,
            user_agent=user_agent,
        )
        if logger.isEnabledFor(logging.INFO):
            logger.info(json.dumps(entry, sort_keys=True), extra={"audit": entry})
        if ucloud_settings.AUDIT:
            buffer.add(alias_for(service) if service else DEFAULT_DB_ALIAS, entry)
    except Exception:
        logger.exception("Could not record the audit record of %s", call_name)


def build(
    *,
    call_name: str,
    principal: Principal,
    status: int,
    duration_ms: float,
    job_id: str,
    caused_by: str | None,
    request: Any,
    request_serializer: type[serializers.Serializer] | None = None,
    client_address: str | None = None,
    user_agent: str | None = None,
) -> dict[str, Any]:
    """The record as the audit stream carries it."""
    # Every text is cleaned and cut to its field in the stream's payload
    # (ucloud.audit.stream): headers and paths are whatever a caller sent.
    return {
        "time": datetime.datetime.now(datetime.UTC).isoformat(),
        "call": text(call_name, 300),
        "username": text(principal.username, 200),
        "role": principal.role.value,
        "service": text(principal.service, 200),
        "via": text(",".join(principal.via), 1000),
        "job_id": text(job_id, 200),
        "caused_by": text(caused_by, 200),
        "status": status,
        "duration_us": max(0, round(duration_ms * 1000)),
        "remote_address": text(client_address, 100),
        "user_agent": text(user_agent, 500),
        "request": request_text(redact(request, request_serializer)),
    }


def request_text(data: Any) -> str:
    """The (redacted) request as JSON text; a large one as its size only."""
    if data is None:
        return ""
    found = json.dumps(json_safe(data), separators=(",", ":"), sort_keys=True, allow_nan=False)
    limit = int(ucloud_settings.AUDIT_MAX_REQUEST_BYTES)
    if len(found) > limit:
        return json.dumps({"truncated": True, "bytes": len(found.encode())})
    return found
