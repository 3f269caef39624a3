"""Data shared in one process that each unit keeps apart.

- ``cross-unit-relation``: a model relation (foreign key, one-to-one,
  many-to-many) from a service's model to a table that lives with a service
  of another unit. One database holds both tables together; apart, the
  other table is in another database.
- ``shared-database``: two services of different units configured here with
  the same database (``DATABASE_URL_<SERVICE>``). Anything that relies on
  it (a query joining their tables, one transaction over both) works here
  and not where each unit has its own database::

    cross_unit_relations(models, unit_of={"shop": "shop", "billing": "billing"})
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import combinations
from typing import Any

from django.db import models

from ucloud.checks.models import service_relations
from ucloud.databases import USER_APPS
from ucloud.split_safety.findings import ERROR, Finding, attribute_line

UnitOf = Mapping[str, str]
# What makes two database settings the same database.
_IDENTITY = ("ENGINE", "NAME", "HOST", "PORT")


def cross_unit_relations(
    model_classes: Iterable[type[models.Model]], unit_of: UnitOf, *, user_app: str
) -> list[Finding]:
    """Relations from a model of one unit's service to a table of another unit."""
    found = []
    for model, field, target_label, target in service_relations(None, model_classes, unit_of):
        own = model._meta.app_label
        home = user_app if target_label in USER_APPS else target_label
        if home not in unit_of or unit_of[home] == unit_of[own]:
            continue
        file, line = attribute_line(model, field.name)
        found.append(
            Finding(
                file,
                line,
                "cross-unit-relation",
                ERROR,
                f"{model._meta.label}.{field.name} is a {type(field).__name__} to {target}, "
                f"whose table lives with {home} (unit {unit_of[home]}), not with {own} "
                f"(unit {unit_of[own]}): apart the two tables are in different databases.",
                f"Store the key in a plain field and read the row through {home}'s api.",
            )
        )
    return found


def shared_databases(
    databases: Mapping[str, Mapping[str, Any]], unit_of: UnitOf, *, where: tuple[str, int]
) -> list[Finding]:
    """Services of different units whose own database aliases are one database."""
    own = {
        service: databases[service]
        for service in sorted(unit_of)
        if service in databases and not _mirrors_default(databases[service])
    }
    found = []
    for one, other in combinations(sorted(own), 2):
        if unit_of[one] == unit_of[other] or not _same(own[one], own[other]):
            continue
        found.append(
            Finding(
                *where,
                "shared-database",
                ERROR,
                f"{one} (unit {unit_of[one]}) and {other} (unit {unit_of[other]}) are "
                f"configured with the same database {own[one].get('NAME')!r}: what relies on "
                "that works here, and not where each unit has its own database.",
                f"Give each its own database (DATABASE_URL_{one.upper()}, "
                f"DATABASE_URL_{other.upper()}), or serve both in one unit.",
            )
        )
    return found


def _mirrors_default(config: Mapping[str, Any]) -> bool:
    return bool((config.get("TEST") or {}).get("MIRROR"))


def _same(one: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    return all(str(one.get(key) or "") == str(other.get(key) or "") for key in _IDENTITY)
