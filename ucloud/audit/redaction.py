"""Secrets never reach the audit trail: requests are redacted before recording.

A value is masked when its field name looks secret (``password``,
``token``, ``secret``, ``credential``, ``api_key``, ``private_key``,
``authorization``, at any depth) or when the call's request serializer
marks the field ``write_only`` or as a password input
(``style={"input_type": "password"}``), nested serializers included::

    redact({"username": "alice", "password": "p"})        # {"username": "alice", "password": "***"}
    redact({"pin": "1234"}, PinRequest)                   # {"pin": "***"} (write_only)
"""

from __future__ import annotations

from functools import cache
from typing import Any

from rest_framework import serializers

MASK = "***"
_SECRET_MARKERS = (
    "password",
    "passwd",
    "token",
    "secret",
    "credential",
    "api_key",
    "apikey",
    "private_key",
    "authorization",
)

# Field name -> the sensitive fields inside it (None: the value itself).
Sensitive = dict[str, "Sensitive | None"]


def secret_looking(name: object) -> bool:
    lowered = str(name).lower()
    return any(marker in lowered for marker in _SECRET_MARKERS)


def _is_secret_field(field: serializers.Field) -> bool:
    style = getattr(field, "style", None) or {}
    return bool(field.write_only) or style.get("input_type") == "password"


def _child_serializer(field: serializers.Field) -> serializers.Serializer | None:
    if isinstance(field, serializers.ListSerializer):
        child = field.child
        return child if isinstance(child, serializers.Serializer) else None
    return field if isinstance(field, serializers.Serializer) else None


def _sensitive(serializer: serializers.Serializer, depth: int = 0) -> Sensitive:
    found: Sensitive = {}
    for name, field in serializer.fields.items():
        if _is_secret_field(field):
            found[name] = None
            continue
        child = _child_serializer(field)
        if child is not None and depth < 8:
            inner = _sensitive(child, depth + 1)
            if inner:
                found[name] = inner
    return found


@cache
def sensitive_fields(request: type[serializers.Serializer]) -> Sensitive:
    """The request's write-only and password fields, by path (computed once)."""
    return _sensitive(request())


def redact(data: Any, request: type[serializers.Serializer] | None = None) -> Any:
    """A copy of ``data`` with secret values masked (see the module docstring)."""
    marked = sensitive_fields(request) if request is not None else {}
    return _redact(data, marked)


def _redact(data: Any, marked: Sensitive | None) -> Any:
    if isinstance(data, dict):
        found = {}
        for key, value in data.items():
            inner = marked.get(key, ...) if marked else ...
            if inner is None or secret_looking(key):
                found[key] = MASK
            else:
                found[key] = _redact(value, inner if isinstance(inner, dict) else None)
        return found
    if isinstance(data, list):
        return [_redact(item, marked) for item in data]
    return data
