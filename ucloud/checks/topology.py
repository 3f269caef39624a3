"""Checks of what this process is told to serve (E005).

``UCLOUD["SERVICES"]`` may name only installed services::

    check_served_services(wanted=["files", "billing"])   # [Error(... ucloud.E005)]
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Error, register

from ucloud import registry
from ucloud.checks.base import TAG, join
from ucloud.serving import parse_services
from ucloud.settings import ucloud_settings


@register(TAG)
def check_served_services(
    app_configs: Sequence[AppConfig] | None = None,
    *,
    wanted: str | list[str] | tuple[str, ...] | None = None,
    installed: Collection[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """E005: ``UCLOUD["SERVICES"]`` names a service that is not installed.

    ``serving.served_services()`` raises for the same reason at run time;
    the URL routes catch it (every ``/api/`` path answers 503
    ``misconfigured``), so that ``manage.py check`` reports this error
    rather than a traceback from Django's URL check.
    """
    if wanted is None:
        wanted = ucloud_settings.SERVICES
    known = set(registry.services() if installed is None else installed)
    names = parse_services(wanted) or []
    unknown = [name for name in names if name not in known]
    if not unknown:
        return []
    what = "is not an installed service" if len(unknown) == 1 else "are not installed services"
    return [
        Error(
            f"UCLOUD['SERVICES'] names {join(unknown)}, which {what}.",
            hint=(
                f"Installed services: {', '.join(sorted(known)) or 'none'}. Fix UCLOUD_SERVICES "
                "(or UCLOUD['SERVICES']), or add the service's app to INSTALLED_APPS."
            ),
            id="ucloud.E005",
        )
    ]
