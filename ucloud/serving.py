"""Where each service runs, as seen from this process, and how to reach it.

``UCLOUD["SERVICES"]`` names the services served here (default: all);
the others are reached through ``SERVICE_URLS`` or ``GATEWAY_URL``::

    serving.is_served("files")        # True in the monolith
    serving.service_url("accounts")   # "http://127.0.0.1:8001"
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from ucloud import registry
from ucloud.contracts.errors import ServiceUnavailable
from ucloud.settings import ucloud_settings


def parse_services(value: str | list[str] | tuple[str, ...] | None) -> list[str] | None:
    """``"a, b"`` or ``["a", "b"]`` -> ``["a", "b"]``; empty or ``all`` -> None."""
    if value is None:
        return None
    names = value.split(",") if isinstance(value, str) else list(value)
    cleaned = [name.strip() for name in names if name.strip()]
    if not cleaned or cleaned == ["all"]:
        return None
    return cleaned


def parse_service_urls(value: str | dict[str, str] | None) -> dict[str, str]:
    """``"accounts=http://a:1,files=http://b:2"`` -> a dict; dicts pass through."""
    if not value:
        return {}
    if isinstance(value, dict):
        return dict(value)
    urls: dict[str, str] = {}
    for item in value.split(","):
        if not item.strip():
            continue
        name, sep, url = item.partition("=")
        if not sep or not name.strip() or not url.strip():
            raise ImproperlyConfigured(
                f"UCLOUD_SERVICE_URLS entry {item!r} is not of the form name=url"
            )
        urls[name.strip()] = url.strip()
    return urls


@cache
def served_services() -> frozenset[str]:
    installed = registry.services()
    wanted = parse_services(ucloud_settings.SERVICES)
    if wanted is None:
        return frozenset(installed)
    unknown = sorted(set(wanted) - set(installed))
    if unknown:
        raise ImproperlyConfigured(
            f"UCLOUD_SERVICES names unknown service(s) {', '.join(unknown)}; "
            f"installed: {', '.join(sorted(installed))}"
        )
    return frozenset(wanted)


def is_served(service: str) -> bool:
    return service in served_services()


def service_url(service: str) -> str:
    """Base URL of ``service``; 503 when this process does not know it."""
    urls = parse_service_urls(ucloud_settings.SERVICE_URLS)
    url = urls.get(service) or ucloud_settings.GATEWAY_URL
    if not url:
        raise ServiceUnavailable(
            f"Service {service!r} is not served by this process and no URL is "
            "configured for it (set UCLOUD_SERVICE_URLS or UCLOUD_GATEWAY_URL)",
            error_code="service_not_configured",
        )
    return str(url).rstrip("/")


def _forget_served(*, setting: str, **kwargs: Any) -> None:
    if setting == "UCLOUD":
        served_services.cache_clear()


setting_changed.connect(_forget_served)
