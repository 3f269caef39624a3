"""CPU and memory requests and limits per process kind, from the topology.

Kubernetes schedules pods by their requests and stops a container at its
memory limit. Three levels, each overriding single values of the one
before: the kit's defaults, ``[resources.<kind>]`` for every unit, and
``[units.<name>.resources.<kind>]`` for one unit::

    [resources.web]
    requests = { cpu = "250m", memory = "256Mi" }
    limits = { cpu = "1", memory = "512Mi" }

    [units.files.resources.worker]
    limits = { memory = "1Gi" }

``resolve_resources(defaults, unit_table)`` gives ``{kind: {"requests": {...},
"limits": {...}}}``; ``resource_problems`` lists what is wrong in a table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PROCESS_KINDS = ("web", "worker", "beat")
SECTIONS = ("requests", "limits")
Resources = dict[str, dict[str, str]]  # {"requests": {"cpu": ..., "memory": ...}, "limits": ...}

DEFAULT_RESOURCES: dict[str, Resources] = {
    # gunicorn, 2 workers x 4 threads (ucloud.deploy.procfile.WEB_WORKERS...).
    "web": {
        "requests": {"cpu": "250m", "memory": "256Mi"},
        "limits": {"cpu": "1", "memory": "512Mi"},
    },
    # A Celery worker; one pool process per `workers` of the unit.
    "worker": {
        "requests": {"cpu": "250m", "memory": "256Mi"},
        "limits": {"cpu": "1", "memory": "512Mi"},
    },
    # The scheduler only publishes: small.
    "beat": {
        "requests": {"cpu": "50m", "memory": "128Mi"},
        "limits": {"cpu": "250m", "memory": "256Mi"},
    },
}

_CPU = re.compile(r"^(\d+(\.\d+)?|\d+m)$")
_MEMORY = re.compile(r"^\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_MEMORY_UNITS = {
    "": 1,
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
}  # fmt: skip
_PATTERNS = {"cpu": _CPU, "memory": _MEMORY}


def quantity(resource: str, value: str) -> float:
    """``"250m"`` CPU -> 0.25; ``"512Mi"`` memory -> bytes."""
    if resource == "cpu":
        return int(value[:-1]) / 1000 if value.endswith("m") else float(value)
    number = re.match(r"^[\d.]+", value)
    assert number is not None  # validated by resource_problems
    return float(number.group()) * _MEMORY_UNITS[value[number.end() :]]


def resource_problems(where: str, table: Any) -> list[str]:
    """What is wrong with a ``resources`` table (kinds -> sections -> values)."""
    if not isinstance(table, dict):
        return [f"{where} must be a table of process kinds ({', '.join(PROCESS_KINDS)})"]
    problems = []
    for kind, sections in table.items():
        at = f"{where}.{kind}"
        if kind not in PROCESS_KINDS:
            problems.append(f"{where}: unknown process kind {kind!r} ({', '.join(PROCESS_KINDS)})")
        elif not isinstance(sections, dict) or set(sections) - set(SECTIONS):
            problems.append(f"{at} takes only requests and limits tables")
        else:
            problems += _section_problems(at, sections)
    return problems


def _section_problems(at: str, sections: dict[str, Any]) -> list[str]:
    problems = []
    for section, values in sections.items():
        if not isinstance(values, dict) or set(values) - set(_PATTERNS):
            problems.append(f"{at}.{section} takes only cpu and memory")
            continue
        for resource, value in values.items():
            if not isinstance(value, str) or not _PATTERNS[resource].match(value):
                problems.append(
                    f"{at}.{section}.{resource}: {value!r} is not a Kubernetes quantity "
                    + ('("250m", "1")' if resource == "cpu" else '("256Mi", "1Gi")')
                )
    return problems


def resolve_resources(*levels: Mapping[str, Any]) -> dict[str, Resources]:
    """Kit defaults overridden by each level in turn; ``ValueError`` when a
    request ends up above its limit."""
    resolved = {
        kind: {section: dict(values) for section, values in DEFAULT_RESOURCES[kind].items()}
        for kind in PROCESS_KINDS
    }
    for level in levels:
        for kind, sections in level.items():
            for section, values in sections.items():
                resolved[kind][section].update(values)
    for kind, sections in resolved.items():
        for resource, request in sections["requests"].items():
            limit = sections["limits"].get(resource)
            if limit is not None and quantity(resource, request) > quantity(resource, limit):
                raise ValueError(f"{kind} requests {resource} {request} above its limit {limit}")
    return resolved
