"""Template filters of the inspection pages: numbers as people read them.

{% load ucloud_observe %}
{{ row.recent.error_rate|percent }}    0.0123 -> "1.2%"
{{ row.recent.p95_ms|ms }}             3.14159 -> "3.14 ms", None -> "—"
{{ span.service|services }}            "accounts,files" -> "accounts, files"
"""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()
NOTHING = "—"


@register.filter
def percent(value: Any) -> str:
    if value is None or value == "":
        return NOTHING
    return f"{float(value) * 100:.1f}%"


@register.filter
def ms(value: Any) -> str:
    if value is None or value == "":
        return NOTHING
    number = float(value)
    return f"{number:.3g} ms" if number < 100 else f"{number:,.0f} ms"


@register.filter
def seconds(value: Any) -> str:
    if value is None or value == "":
        return NOTHING
    return f"{float(value):,.1f} s"


@register.filter
def get_item(mapping: Any, key: str) -> Any:
    """``mapping[key]`` for keys with dots, which template lookups cannot name."""
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def services(value: Any) -> str:
    """A span's service name, which names every service of its process
    comma-joined (``ucloud.observe.tracing``), with a space after each comma."""
    return ", ".join(name for name in str(value or "").split(",") if name)
