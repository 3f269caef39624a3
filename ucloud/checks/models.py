"""Model relations between services (E004): services never share tables.

A foreign key, one-to-one or many-to-many field from one service's model to
another's breaks as soon as the two have separate databases::

    check_cross_service_relations(model_classes=[Order], services={"shop", "billing"})
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Any

from django.apps import AppConfig, apps
from django.core.checks import CheckMessage, Error, register
from django.db import models

from ucloud import registry
from ucloud.checks.base import TAG, selected_services


def _related_label(field: models.Field[Any, Any], model: type[models.Model]) -> tuple[str, str]:
    """(app label, display name) of the model ``field`` points to, resolved or not."""
    target = field.remote_field.model if field.remote_field else None
    if isinstance(target, str):
        # A lazy reference the registry has not resolved: "app.Model", "Model" or "self".
        app_label, dot, _ = target.rpartition(".")
        return (app_label if dot else model._meta.app_label), target
    if isinstance(target, type) and issubclass(target, models.Model):
        return target._meta.app_label, target._meta.label
    return model._meta.app_label, str(target)


def service_relations(
    app_configs: Sequence[AppConfig] | None,
    model_classes: Iterable[type[models.Model]] | None,
    labels: Collection[str],
) -> Iterator[tuple[type[models.Model], models.Field[Any, Any], str, str]]:
    """(model, field, target app label, target) of every relation a service's
    model declares (E004 and E009 judge them)."""
    if model_classes is None:
        chosen = {s.label for s in selected_services(app_configs)}
        model_classes = [m for m in apps.get_models() if m._meta.app_label in chosen]
    for model in model_classes:
        if model._meta.app_label not in labels:
            continue
        for field in [*model._meta.local_fields, *model._meta.local_many_to_many]:
            if field.is_relation:
                yield (model, field, *_related_label(field, model))


@register(TAG)
def check_cross_service_relations(
    app_configs: Sequence[AppConfig] | None = None,
    *,
    model_classes: Iterable[type[models.Model]] | None = None,
    services: Collection[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """E004: a relation from a model of one service to a model of another.

    Relations to apps that are not services (``django.contrib.auth``'s
    ``Group``, say) are fine; ``AUTH_USER_MODEL`` is not when a service owns it.
    """
    labels = set(registry.services() if services is None else services)
    errors: list[CheckMessage] = []
    for model, field, target_label, target in service_relations(app_configs, model_classes, labels):
        own = model._meta.app_label
        if target_label != own and target_label in labels:
            errors.append(
                Error(
                    f"{model._meta.label}.{field.name} is a {type(field).__name__} to "
                    f"{target}, a model of service '{target_label}'; services must not "
                    "share tables, they may run with separate databases.",
                    hint=(
                        "Store the other side's key (e.g. a username or id) in a plain field "
                        f"and read the object through the api of service '{target_label}' with "
                        "an RPC client."
                    ),
                    id="ucloud.E004",
                )
            )
    return errors
