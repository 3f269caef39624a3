"""Request and response serializers prepared once per class, used by every call.

DRF builds a serializer's fields, a deep copy of the declared ones, for each
new instance: about 60 µs of a 70 µs ``File(data).data``. A call's
serializers are declarations that hold no state of their own, so the
pipeline keeps one bound instance per class and asks it to validate or to
render, with the same results and the same error details as
``is_valid()`` / ``.data`` on a new instance::

    validated = validate_data(CreateFileRequest, {"path": "/a", "size": 1})
    rendered = represent(File, file_data)          # == File(file_data).data

This holds for serializers that read no per-instance state: no
``context``, ``instance`` or ``partial`` (contracts in ``api.py`` never do).
A serializer class that needs them sets ``prepared = False`` and gets a new
instance per call, as plain DRF would.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

from rest_framework import serializers

S = TypeVar("S", bound=serializers.BaseSerializer)

_instances: dict[type[serializers.BaseSerializer], serializers.BaseSerializer] = {}


def prepared(serializer_class: type[S]) -> S:
    """The one shared instance of ``serializer_class``, its fields bound."""
    instance = _instances.get(serializer_class)
    if instance is None:
        instance = serializer_class()
        # Bind the fields now: every later use only reads them.
        _ = getattr(instance, "fields", None)
        # Two threads may both get here; either instance serves.
        instance = _instances.setdefault(serializer_class, instance)
    return cast(S, instance)


def _is_prepared(serializer_class: type[serializers.BaseSerializer]) -> bool:
    return bool(getattr(serializer_class, "prepared", True))


def validate_data(serializer_class: type[serializers.BaseSerializer], data: Any) -> Any:
    """The validated data, or ``ValidationError`` whose ``detail`` is what
    ``serializer.errors`` would be after ``is_valid()``."""
    if not _is_prepared(serializer_class):
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data
    # is_valid() is run_validation() plus bookkeeping on the instance, which
    # a shared instance must not keep. No call passes "no data" here, so
    # is_valid()'s one rewrite of an error ("No data provided") never applies.
    return prepared(serializer_class).run_validation(data)


def represent(serializer_class: type[serializers.BaseSerializer], instance: Any) -> Any:
    """What ``serializer_class(instance).data`` is."""
    if instance is None or not _is_prepared(serializer_class):
        # .data of a serializer without an instance is its initial data.
        return serializer_class(instance).data
    return prepared(serializer_class).to_representation(instance)
