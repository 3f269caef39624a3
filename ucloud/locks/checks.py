"""System check: process-local locks where more than one process runs.

Without Redis and PostgreSQL the lock backend falls back to a lock inside
one process. Where the deployment runs more than one process, such a lock
excludes nothing, so the check refuses to start instead (``ucloud.E020``).
The kit knows of more than one process when:

- a Celery broker is configured (``CELERY_BROKER_URL``): workers and beat
  run besides the web processes;
- ``WEB_CONCURRENCY`` (gunicorn's worker count) is above 1.

::

    python manage.py check      # ucloud.E020 ... set REDIS_URL ...
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from ucloud.locks.lock import configured_backend_name


def other_processes() -> list[str]:
    """Why this deployment runs more than one process, as far as settings tell."""
    reasons = []
    if getattr(settings, "CELERY_BROKER_URL", None):
        reasons.append(
            "a Celery broker is configured (workers and beat are processes of their own)"
        )
    concurrency = os.environ.get("WEB_CONCURRENCY", "")
    if concurrency.isdigit() and int(concurrency) > 1:
        reasons.append(f"WEB_CONCURRENCY={concurrency} web processes")
    return reasons


@register("ucloud")
def check_lock_backend(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    if configured_backend_name() != "local":
        return []
    reasons = other_processes()
    if not reasons:
        return []
    return [
        Error(
            "Distributed locks would be process-local, but this deployment runs more than "
            f"one process: {'; '.join(reasons)}.",
            hint="Set REDIS_URL (Redis locks) or use PostgreSQL as the default database "
            "(advisory locks), or UCLOUD['LOCK_BACKEND'] to one of them.",
            id="ucloud.E020",
        )
    ]
