"""Event work that needs a worker of the unit, which runs it in one process anyway.

- ``idle-processor``: a processor of a service whose unit has no worker
  (``workers = 0``). In one process without a broker processors run after
  commit in the process; apart nothing reads the service's consumer group.
- ``idle-outbox`` (a warning): a stream produced by a service whose unit has
  no worker: events are relayed right after commit, but the periodic sweep
  that relays what a crash left behind runs on that unit's worker::

    idle_processors([(processor.group, processor.function)], workers={"accounts": 0, ...},
                    unit_of={"accounts": "accounts", ...})
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ucloud.split_safety.findings import ERROR, WARNING, Finding, where_defined

UnitOf = Mapping[str, str]


def idle_processors(
    processors: Iterable[tuple[str, Callable[..., Any]]],
    *,
    workers: Mapping[str, int],
    unit_of: UnitOf,
) -> list[Finding]:
    """Processors (consumer group, function) of services in a unit without workers."""
    found = []
    for group, function in processors:
        unit = unit_of.get(group)
        if unit is None or workers.get(unit, 1) > 0:
            continue
        file, line = where_defined(function)
        found.append(
            Finding(
                file,
                line,
                "idle-processor",
                ERROR,
                f"{function.__qualname__} processes events for {group}, whose unit {unit} has "
                "workers = 0: in one process it runs after commit; apart nothing runs it.",
                f"Give unit {unit} a worker (workers = 1 in the topology).",
            )
        )
    return found


def idle_outboxes(
    producers: Iterable[tuple[str, str, tuple[str, int]]],
    *,
    workers: Mapping[str, int],
    unit_of: UnitOf,
) -> list[Finding]:
    """Streams (name, producing service, where declared) of units without workers."""
    found = []
    for name, service, (file, line) in producers:
        unit = unit_of.get(service)
        if unit is None or workers.get(unit, 1) > 0:
            continue
        found.append(
            Finding(
                file,
                line,
                "idle-outbox",
                WARNING,
                f"{service} produces {name} but its unit {unit} has workers = 0: events "
                "a crash leaves in its outbox are never swept out apart.",
                f"Give unit {unit} a worker (workers = 1 in the topology).",
            )
        )
    return found
