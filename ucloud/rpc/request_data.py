"""What a call's request may hold, beyond what its serializer checks.

A query string gives each single-valued field one value (a repeated one is a
400, not silently the last) and each list field all of its values. A JSON
body may hold only the fields the request declares, each of its JSON type:
DRF would drop an unknown field and read ``5`` as the text ``"5"`` (or
``"5"`` as the number 5); the kit refuses both, on every transport, so a
caller's mistake is a 400 naming the field rather than a surprise::

    data = query_request(BrowseRequest, request.query_params)
    # ?items_per_page=5&items_per_page=7 -> BadRequest, errors={"items_per_page": [...]}
    body_errors(CreateFileRequest(), {"path": 5, "size": 1, "sise": 2})
    # {"path": ["Not a valid string."], "sise": ["Unknown field."]}

Query parameters that are not fields pass through (the serializer ignores
them): a query string often carries more than the call (``format``, cache
busters). Dates, times, decimals and choices keep DRF's reading (a caller
in the same process may pass ``datetime`` or ``Decimal`` objects).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from django.http import QueryDict
from rest_framework import serializers

from ucloud.contracts.errors import BadRequest

UNKNOWN_FIELD = "Unknown field."
_LIST_FIELDS = (serializers.ListField, serializers.ListSerializer, serializers.MultipleChoiceField)


@cache
def _field_kinds(request: type[serializers.Serializer]) -> tuple[frozenset[str], frozenset[str]]:
    """(names of all fields, names of list-valued fields) of a request serializer."""
    fields = request().fields
    lists = {
        name
        for name, field in fields.items()
        if isinstance(
            field,
            serializers.ListField | serializers.ListSerializer | serializers.MultipleChoiceField,
        )
    }
    return frozenset(fields), frozenset(lists)


def query_request(request: type[serializers.Serializer], params: QueryDict) -> dict[str, Any]:
    """The call's request data from ``params``; ``BadRequest`` for a repeated
    parameter of a single-valued field."""
    names, lists = _field_kinds(request)
    data: dict[str, Any] = {}
    repeated: dict[str, list[str]] = {}
    for key, values in params.lists():
        if key in lists:
            data[key] = values
        elif len(values) > 1 and key in names:
            repeated[key] = [f"Expected one value, got {len(values)}."]
        else:
            data[key] = values[-1]
    if repeated:
        raise BadRequest("Invalid request", error_code="invalid_request", errors=repeated)
    return data


def body_errors(serializer: serializers.Serializer, data: Any) -> dict[str, Any]:
    """Field errors, keyed like the body, for each field the request (a
    serializer instance, whose bound fields are reused) does not declare and
    each value of the wrong JSON type (nested ones included)."""
    if not isinstance(data, Mapping):
        return {}  # the serializer reports a body that is not an object
    fields = serializer.fields
    errors: dict[str, Any] = {str(key): [UNKNOWN_FIELD] for key in data if key not in fields}
    errors.update(_object_errors(serializer, data))
    return errors


def _object_errors(serializer: serializers.Serializer, data: Mapping[Any, Any]) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    for name, field in serializer.fields.items():
        if name in data and not field.read_only:
            error = _value_errors(field, data[name])
            if error:
                errors[name] = error
    return errors


def _value_errors(field: serializers.Field, value: Any) -> Any:
    """DRF-shaped errors for ``value`` when its type is not the field's; None when fine."""
    if value is None:
        return None  # allow_null is the serializer's business
    if isinstance(field, serializers.ListSerializer | serializers.ListField):
        if not isinstance(value, list | tuple):
            return [_message(field, "not_a_list", input_type=type(value).__name__)]
        child = field.child
        if child is None:
            return None
        items = {str(i): e for i, item in enumerate(value) if (e := _value_errors(child, item))}
        return items or None
    if isinstance(field, serializers.DictField):
        if not isinstance(value, Mapping):
            return [_message(field, "not_a_dict", input_type=type(value).__name__)]
        found = {str(k): e for k, item in value.items() if (e := _value_errors(field.child, item))}
        return found or None
    if isinstance(field, serializers.Serializer):
        if not isinstance(value, Mapping):
            return {"non_field_errors": [_message(field, "invalid", datatype=type(value).__name__)]}
        return _object_errors(field, value) or None
    expected = _json_type(field)
    if expected is None or (isinstance(value, expected) and not _is_bool_as_number(field, value)):
        return None
    return [_message(field, "invalid")]


def _json_type(field: serializers.Field) -> type | tuple[type, ...] | None:
    """The Python type(s) a JSON value of ``field`` has; None: not checked."""
    if isinstance(field, serializers.BooleanField):
        return bool
    if isinstance(field, serializers.IntegerField):
        return int
    if isinstance(field, serializers.FloatField):
        return (int, float)
    if isinstance(field, serializers.CharField):
        return str
    return None


def _is_bool_as_number(field: serializers.Field, value: Any) -> bool:
    # bool is an int in Python, not a number in JSON.
    return isinstance(value, bool) and not isinstance(field, serializers.BooleanField)


def _message(field: serializers.Field, key: str, **params: str) -> str:
    return str(field.error_messages[key]).format(**params)
