"""Database checks (E008, E009): each service reads and writes its own database.

E008 scans service sources for literal aliases of other services; E009 finds
relations to non-service apps whose tables live in another database::

    check_service_databases(sources=example_sources())   # [Error(... ucloud.E008), ...]
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Error, register
from django.db import models

from ucloud import registry
from ucloud.checks.base import TAG, selected_services
from ucloud.checks.imports import ServiceSource, parse_source, python_files
from ucloud.checks.models import service_relations
from ucloud.databases import KIT_APP, USER_APPS, user_model_app

# Calls whose first positional argument is a database alias (or a service
# label, which is the same name): ``.using("x")``, ``.db_manager("x")``,
# ``transaction.atomic("x")``, ``ucloud.databases.atomic("x")`` and
# ``alias_for("x")``.
_ALIAS_FIRST = {"using", "db_manager", "atomic", "alias_for"}


def _literal(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _callee_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else None


def _named_aliases(tree: ast.AST) -> Iterator[tuple[int, str, str]]:
    """(line, alias, how it is named) of every literal database alias in ``tree``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                alias = _literal(keyword.value)
                if keyword.arg == "using" and alias is not None:
                    yield node.lineno, alias, f'using="{alias}"'
            name = _callee_name(node.func)
            first = _literal(node.args[0]) if node.args else None
            if name in _ALIAS_FIRST and first is not None:
                prefix = "." if name in ("using", "db_manager") else ""
                yield node.lineno, first, f'{prefix}{name}("{first}")'
        elif isinstance(node, ast.Subscript) and _callee_name(node.value) == "connections":
            alias = _literal(node.slice)
            if alias is not None:
                yield node.lineno, alias, f'connections["{alias}"]'


def _alias_errors(source: ServiceSource, labels: Collection[str]) -> list[CheckMessage]:
    others = set(labels) - {source.label}
    errors: list[CheckMessage] = []
    for file in python_files(source.path):
        tree = parse_source(file)
        if tree is None:
            continue
        for line, alias, how in sorted(_named_aliases(tree)):
            if alias not in others:
                continue
            errors.append(
                Error(
                    f"{source.display(file)}:{line}: service '{source.label}' names the "
                    f"database of service '{alias}' ({how}); each service reads and writes "
                    "only its own database.",
                    hint=(
                        f"Ask service '{alias}' through its api with an RPC client (or "
                        "consume its events). For the own database use "
                        f"ucloud.databases.atomic('{source.label}') or "
                        f"alias_for('{source.label}')."
                    ),
                    id="ucloud.E008",
                )
            )
    return errors


@register(TAG)
def check_service_databases(
    app_configs: Sequence[AppConfig] | None = None,
    *,
    sources: Sequence[ServiceSource] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """E008: a service's code names another service's database alias.

    Like E003 it scans the source with ``ast``; it finds literal aliases in
    ``using=``, ``.using()``, ``.db_manager()``, ``atomic()``, ``alias_for()``
    and ``connections[...]``. Naming the service's own alias is fine.
    """
    labels = list(registry.services())
    if sources is None:
        checked = [ServiceSource.of(s) for s in selected_services(app_configs)]
    else:
        checked, labels = list(sources), [source.label for source in sources]
    return [error for source in checked for error in _alias_errors(source, labels)]


def _home_of(app_label: str, user_app: str) -> str:
    return user_app if app_label in USER_APPS else app_label


@register(TAG)
def check_cross_database_relations(
    app_configs: Sequence[AppConfig] | None = None,
    *,
    model_classes: Iterable[type[models.Model]] | None = None,
    services: Collection[str] | None = None,
    user_app: str | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """E009: a relation from a service's model to a model of an app that is
    not a service but lives in another database.

    Django's auth, contenttypes, admin and sessions live with the service
    owning ``AUTH_USER_MODEL`` (``user_app``); other apps, on ``default``.
    Relations between services are E004; the kit's tables are everywhere.
    """
    labels = set(registry.services() if services is None else services)
    owner = user_model_app() if user_app is None else user_app
    errors: list[CheckMessage] = []
    for model, field, target_label, target in service_relations(app_configs, model_classes, labels):
        own = model._meta.app_label
        home = _home_of(target_label, owner)
        if target_label not in labels and target_label != KIT_APP and home != own:
            where = f"service '{home}'" if home in labels else "the default database"
            errors.append(
                Error(
                    f"{model._meta.label}.{field.name} is a {type(field).__name__} to "
                    f"{target}, whose table lives with {where}, not in the database of "
                    f"service '{own}'; the relation breaks once '{own}' has its own database.",
                    hint=(
                        "Store the key of the other row in a plain field (e.g. a group name "
                        "or id) and resolve it where that data lives, through an api call."
                    ),
                    id="ucloud.E009",
                )
            )
    return errors
