"""Fast validation of flat event payloads, with DRF as the judge.

Producing validates every payload with the stream's serializer, and DRF
spends tens of microseconds per payload doing it. Most payloads are flat
records of strings, integers, booleans and choices already in their
canonical form; for those, a plan compiled once from the serializer checks
the same rules (required, null, blank, lengths, limits, choices, defaults)
and returns what DRF's ``serializer.data`` would. Anything the plan does not
cover exactly (another field type, a custom validator, a value DRF would
coerce, an error) goes to DRF, which then decides and words the errors::

    plan = compile_plan(FileEvent)          # None: not a flat serializer
    plan.validate_many(payloads)            # list of dicts, or None: ask DRF
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.validators import (
    MaxLengthValidator,
    MaxValueValidator,
    MinLengthValidator,
    MinValueValidator,
    ProhibitNullCharactersValidator,
)
from rest_framework import fields, serializers
from rest_framework.validators import ProhibitSurrogateCharactersValidator

_SURROGATES = re.compile("[\ud800-\udfff]")
_MISSING = object()


class _Unsure(Exception):
    """The plan cannot vouch for this payload: DRF must look at it."""


Check = Callable[[Any], Any]


@dataclass(frozen=True)
class _FieldPlan:
    name: str
    check: Check
    required: bool
    allow_null: bool
    # The representation of the default, or _MISSING.
    default: Any

    def value(self, payload: dict[str, Any]) -> Any:
        """The represented value, or _MISSING when DRF would omit the field."""
        if self.name not in payload:
            if self.default is not _MISSING:
                return self.default
            if self.required:
                raise _Unsure
            return None if self.allow_null else _MISSING
        data = payload[self.name]
        if data is None:
            if not self.allow_null:
                raise _Unsure
            return None
        return self.check(data)


class PayloadPlan:
    def __init__(self, plans: list[_FieldPlan]) -> None:
        self.plans = plans

    def validate_many(self, payloads: Sequence[Any]) -> list[dict[str, Any]] | None:
        """What DRF would give for each payload, or None if one is not certain."""
        found = []
        try:
            for payload in payloads:
                if type(payload) is not dict:
                    return None
                item = {}
                for plan in self.plans:
                    value = plan.value(payload)
                    if value is not _MISSING:
                        item[plan.name] = value
                found.append(item)
        except _Unsure:
            return None
        return found


def compile_plan(serializer_class: type[serializers.Serializer]) -> PayloadPlan | None:
    """A plan for a flat serializer of supported fields, or None."""
    if not _plain_serializer(serializer_class):
        return None
    plans = []
    for name, field in serializer_class().fields.items():
        plan = _field_plan(name, field)
        if plan is None:
            return None
        plans.append(plan)
    return PayloadPlan(plans)


def _plain_serializer(serializer_class: type[serializers.Serializer]) -> bool:
    """No hook of its own that could change validation or representation."""
    base = serializers.Serializer
    overridden = any(
        getattr(serializer_class, hook) is not getattr(base, hook)
        for hook in ("validate", "to_internal_value", "to_representation", "run_validation")
    )
    names = serializer_class().fields.keys()
    field_hooks = any(hasattr(serializer_class, f"validate_{name}") for name in names)
    meta = getattr(serializer_class, "Meta", None)
    return not overridden and not field_hooks and not getattr(meta, "validators", None)


def _field_plan(name: str, field: fields.Field) -> _FieldPlan | None:
    if field.read_only or field.write_only or field.source != name:
        return None
    check = _check_of(field)
    if check is None:
        return None
    default: Any = _MISSING
    if field.default is not fields.empty:
        if callable(field.default):
            return None
        try:
            default = None if field.default is None else field.to_representation(field.default)
        except Exception:
            return None
    return _FieldPlan(name, check, field.required, field.allow_null, default)


def _check_of(field: fields.Field) -> Check | None:
    # Exact types: a subclass (EmailField, URLField, ...) adds rules of its own.
    kind = type(field)
    if kind is fields.CharField and isinstance(field, fields.CharField):
        return _char_check(field)
    if kind is fields.IntegerField and isinstance(field, fields.IntegerField):
        return _integer_check(field)
    if kind is fields.BooleanField and not field.validators:
        return _boolean_check
    if kind is fields.ChoiceField and isinstance(field, fields.ChoiceField):
        return None if field.validators else _choice_check(field)
    return None


def _only(validators: list[Any], allowed: tuple[type, ...]) -> bool:
    return all(type(validator) in allowed for validator in validators)


def _char_check(field: fields.CharField) -> Check | None:
    known = (
        MaxLengthValidator,
        MinLengthValidator,
        ProhibitNullCharactersValidator,
        ProhibitSurrogateCharactersValidator,
    )
    if not _only(field.validators, known):
        return None
    longest, shortest = field.max_length, field.min_length
    blank_ok, trimmed = field.allow_blank, field.trim_whitespace

    def check(data: Any) -> Any:
        if type(data) is not str or "\x00" in data or (trimmed and data != data.strip()):
            raise _Unsure
        if data == "":
            if blank_ok:
                return ""
            raise _Unsure
        if longest is not None and len(data) > longest:
            raise _Unsure
        if shortest is not None and len(data) < shortest:
            raise _Unsure
        if _SURROGATES.search(data):
            raise _Unsure
        return data

    return check


def _integer_check(field: fields.IntegerField) -> Check | None:
    if not _only(field.validators, (MaxValueValidator, MinValueValidator)):
        return None
    highest, lowest = field.max_value, field.min_value

    def check(data: Any) -> Any:
        if type(data) is not int:
            raise _Unsure
        if (highest is not None and data > highest) or (lowest is not None and data < lowest):
            raise _Unsure
        return data

    return check


def _boolean_check(data: Any) -> Any:
    if type(data) is not bool:
        raise _Unsure
    return data


def _choice_check(field: fields.ChoiceField) -> Check:
    choices = dict(field.choice_strings_to_values)
    blank_ok = field.allow_blank

    def check(data: Any) -> Any:
        if data == "" and blank_ok:
            return ""
        if type(data) is not str or data not in choices:
            raise _Unsure
        return choices[data]

    return check
