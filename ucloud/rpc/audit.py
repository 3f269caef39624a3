"""Audit records of calls marked ``audit=True``, one JSON line per call.

Records go to the ``ucloud.audit`` logger; secrets in requests are masked::

    LOGGING = {..., "loggers": {"ucloud.audit": {"handlers": ["file"], "level": "INFO"}}}
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ucloud.auth.principal import Principal

logger = logging.getLogger("ucloud.audit")

_SECRET_MARKERS = ("password", "token", "secret")


def redact(data: Any) -> Any:
    """A copy of ``data`` with values of secret-looking keys masked."""
    if isinstance(data, dict):
        return {
            key: "***" if any(m in str(key).lower() for m in _SECRET_MARKERS) else redact(value)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [redact(item) for item in data]
    return data


def record(
    *,
    call_name: str,
    principal: Principal,
    status: int,
    duration_ms: float,
    job_id: str,
    caused_by: str | None,
    request: Any,
) -> None:
    if not logger.isEnabledFor(logging.INFO):
        return
    entry = {
        "call": call_name,
        "username": principal.username,
        "role": principal.role.value,
        "status": status,
        "duration_ms": round(duration_ms, 3),
        "job_id": job_id,
        "caused_by": caused_by,
        "request": redact(request),
    }
    logger.info(json.dumps(entry, default=str, sort_keys=True), extra={"audit": entry})
