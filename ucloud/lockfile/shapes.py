"""Serializers as plain data: the shape of a request, response or event payload.

Every field becomes a small JSON object naming its type and what a value
must satisfy, so that two versions of a contract can be compared without
the code of either::

    describe_serializer(CreateFileRequest)
    # {"fields": {"path": {"type": "string", "required": true, "nullable": false,
    #                      "limits": {"allow_blank": false, "max_length": 4096},
    #                      "pattern": ["^(?:/(?:...))+\\Z"]}, "size": {...}}}

``required`` is what a sender must give; what a receiver always gets is
``present`` (``ucloud.lockfile.rules`` derives it: required, defaulted or
nullable). Custom validators are named by their dotted path; validators
that only restate the type or a limit are left out.
"""

from __future__ import annotations

import json
from typing import Any

from django.core import validators as django_validators
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.utils.encoders import JSONEncoder

Shape = dict[str, Any]

# (field class, type name), most specific first: a subclass must come
# before the class it extends.
_TYPES: tuple[tuple[type[serializers.Field], str], ...] = (
    (serializers.MultipleChoiceField, "list"),
    (serializers.ChoiceField, "choice"),
    (serializers.BooleanField, "boolean"),
    (serializers.IntegerField, "integer"),
    (serializers.FloatField, "number"),
    (serializers.DecimalField, "decimal"),
    (serializers.DateTimeField, "datetime"),
    (serializers.DateField, "date"),
    (serializers.TimeField, "time"),
    (serializers.DurationField, "duration"),
    (serializers.UUIDField, "uuid"),
    (serializers.EmailField, "email"),
    (serializers.URLField, "url"),
    (serializers.IPAddressField, "ip"),
    (serializers.CharField, "string"),
    (serializers.ListField, "list"),
    (serializers.DictField, "map"),
    (serializers.JSONField, "json"),
    (serializers.ReadOnlyField, "any"),
    (serializers.SerializerMethodField, "any"),
)

# Validators that restate a field's type or one of its limits.
_IMPLIED_VALIDATORS = (
    django_validators.MaxLengthValidator,
    django_validators.MinLengthValidator,
    django_validators.MaxValueValidator,
    django_validators.MinValueValidator,
    django_validators.ProhibitNullCharactersValidator,
    django_validators.EmailValidator,
    django_validators.DecimalValidator,
    django_validators.URLValidator,
)

_LIMITS = (
    "min_length",
    "max_length",
    "min_value",
    "max_value",
    "max_digits",
    "decimal_places",
    "allow_blank",
    "allow_empty",
)

_encoder = JSONEncoder()


def describe_serializer(serializer: type[serializers.Serializer] | serializers.Serializer) -> Shape:
    """``{"fields": {name: field shape}}`` of a serializer class or instance."""
    instance = serializer() if isinstance(serializer, type) else serializer
    fields = {}
    for name, field in instance.fields.items():
        if isinstance(field, serializers.HiddenField):
            continue  # never sent, never shown
        fields[name] = describe_field(field)
    return {"fields": fields}


def describe_field(field: serializers.Field) -> Shape:
    """The shape of one field: type, required, nullable and what else applies."""
    if isinstance(field, serializers.ListSerializer) and field.child is not None:
        shape: Shape = {"type": "list", "items": describe_field(field.child)}
    elif isinstance(field, serializers.Serializer):
        shape = {"type": "object", **describe_serializer(field)}
    else:
        shape = {"type": type_name(field)}
    shape["required"] = bool(field.required)
    shape["nullable"] = bool(field.allow_null)
    if field.read_only:
        shape["read_only"] = True
    if field.write_only:
        shape["write_only"] = True
    if field.default is not empty:
        shape["default"] = _default(field.default)
    _add_details(field, shape)
    return shape


def type_name(field: serializers.Field) -> str:
    for cls, name in _TYPES:
        if isinstance(field, cls):
            return name
    cls = type(field)
    return f"custom:{cls.__module__}.{cls.__qualname__}"


def _add_details(field: serializers.Field, shape: Shape) -> None:
    if isinstance(field, serializers.ChoiceField):
        choices = [_json(value) for value in field.choices]
        if isinstance(field, serializers.MultipleChoiceField):
            shape["items"] = {"type": "choice", "choices": choices}
        else:
            shape["choices"] = choices
    elif isinstance(field, serializers.ListField) and field.child is not None:
        shape["items"] = describe_field(field.child)
    elif isinstance(field, serializers.DictField) and field.child is not None:
        shape["values"] = describe_field(field.child)
    limits = {
        name: _json(getattr(field, name))
        for name in _LIMITS
        if getattr(field, name, None) is not None
    }
    if limits:
        shape["limits"] = limits
    patterns = sorted(
        str(getattr(v.regex, "pattern", v.regex))
        for v in field.validators
        if isinstance(v, django_validators.RegexValidator)
        and not isinstance(v, django_validators.URLValidator)
    )
    if patterns:
        shape["pattern"] = patterns
    custom = sorted(
        _dotted(v)
        for v in field.validators
        if not isinstance(v, (*_IMPLIED_VALIDATORS, django_validators.RegexValidator))
        and not _is_drf_validator(v)
    )
    if custom:
        shape["validators"] = custom


def _is_drf_validator(validator: Any) -> bool:
    # DRF adds its own for the surrogate rule of CharField; it restates the type.
    return type(validator).__module__.startswith("rest_framework.")


def _dotted(validator: Any) -> str:
    target = validator if callable(validator) and hasattr(validator, "__qualname__") else None
    owner = target if target is not None else type(validator)
    return f"{owner.__module__}.{owner.__qualname__}"


def _default(value: Any) -> Any:
    if callable(value):
        return {"callable": _dotted(value)}
    return _json(value)


def _json(value: Any) -> Any:
    """``value`` as JSON data (dates, decimals and such as DRF renders them)."""
    return json.loads(_encoder.encode(value))
