"""The architecture as data: units holding services, call and event edges, stores.

Call edges come from the source (``ucloud.observe.dependencies``: who names
whose calls) and, when metrics exist, from observed traffic, with rates and
error rates; event edges go from each stream to each consumer group; the
stores are each unit's databases, Redis and the search engine. The picture
of a deployment comes from a topology file; the picture of the running
system from the units as this process sees them (``ucloud.observe.units``)::

    picture = topology_picture(load_topology("config/topology.toml"))
    render_svg(picture)        # ucloud.observe.svg
    render_mermaid(picture)    # ucloud.observe.mermaid
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ucloud import registry
from ucloud.deploy.topology import Topology
from ucloud.events.processors import groups_of
from ucloud.events.streams import EVERY_UNIT, streams
from ucloud.observe.dependencies import static_call_edges
from ucloud.service import ELASTICSEARCH


@dataclass(frozen=True)
class Store:
    id: str
    kind: str  # "postgresql", "sqlite", "redis", "search", ...
    label: str


@dataclass
class UnitBox:
    name: str
    services: list[str]
    stores: list[Store] = field(default_factory=list)


@dataclass
class CallEdge:
    caller: str
    callee: str
    calls: list[str]
    static: bool = True  # named in the caller's code
    per_s: float | None = None  # observed over the recent window
    error_rate: float | None = None


@dataclass(frozen=True)
class EventEdge:
    stream: str
    producer: str
    group: str


@dataclass
class Picture:
    title: str
    units: list[UnitBox]
    call_edges: list[CallEdge]
    event_edges: list[EventEdge]
    # Stores of the whole system (Redis, search), below the units.
    shared_stores: list[Store] = field(default_factory=list)
    # service -> the store ids it uses
    uses: dict[str, list[str]] = field(default_factory=dict)

    def streams_of(self, service: str) -> list[str]:
        return sorted({edge.stream for edge in self.event_edges if edge.producer == service})

    def shared_streams(self) -> list[str]:
        """The kit's own streams, which every unit produces (drawn with the
        shared stores rather than under one service)."""
        return self.streams_of(EVERY_UNIT)

    def stream_label(self, stream: str) -> str:
        """A stream's name as drawn: a shared one says who produces it."""
        return f"{stream} ({EVERY_UNIT})" if stream in self.shared_streams() else stream


def event_edges() -> list[EventEdge]:
    """From each stream to each consumer group; a stream of the kit's own
    (``ucloud.audit``) comes from every unit (producer ``EVERY_UNIT``)."""
    found = []
    for name, stream in sorted(streams().items()):
        producer = stream.produced_by
        if producer is None:
            continue  # declared outside the services (tests, examples)
        found += [EventEdge(name, producer, group) for group in groups_of(name)]
    return found


def call_edges(observed: Iterable[Mapping[str, Any]] = ()) -> list[CallEdge]:
    """Edges from the source, confirmed (and completed) by observed client rows."""
    edges = {
        key: CallEdge(key[0], key[1], sorted(calls)) for key, calls in static_call_edges().items()
    }
    services = set(registry.services())
    rates: dict[tuple[str, str], list[float]] = {}  # [calls/s, errors/s]
    for row in observed:
        if row.get("side") != "client" or row["caller"] not in services:
            continue  # calls from outside the services (clients, tests, the admin)
        key = (row["caller"], row["service"])
        edge = edges.setdefault(key, CallEdge(key[0], key[1], [], static=False))
        if row["call"] not in edge.calls:
            edge.calls.append(row["call"])
        rate = rates.setdefault(key, [0.0, 0.0])
        rate[0] += row["recent_per_s"]
        rate[1] += row["recent"]["error_rate"] * row["recent_per_s"]
    for key, (per_s, errors) in rates.items():
        edges[key].per_s = round(per_s, 3)
        edges[key].error_rate = round(errors / per_s, 4) if per_s else 0.0
    return sorted(edges.values(), key=lambda edge: (edge.caller, edge.callee))


def _redis(uses: dict[str, list[str]]) -> list[Store]:
    """Redis, used by the producers and consumers of streams."""
    for edge in event_edges():
        for service in (edge.producer, edge.group):
            if service == EVERY_UNIT:
                continue
            if "redis" not in uses.setdefault(service, []):
                uses[service].append("redis")
    return [Store("redis", "redis", "Redis (streams, locks)")]


def topology_picture(topology: Topology) -> Picture:
    """The deployment of a topology file: each unit's PostgreSQL database,
    Redis for the streams, the search engine when a service asks for one."""
    units: list[UnitBox] = []
    uses: dict[str, list[str]] = {}
    for unit in topology.units:
        database = Store(f"db-{unit.name}", "postgresql", unit.database)
        units.append(UnitBox(unit.name, list(unit.services), [database]))
        for service in unit.services:
            uses[service] = [database.id]
    shared = _redis(uses) if any(u.workers for u in topology.units) else []
    shared += _search(uses)
    title = f"ucloud: {_shown(topology.source)}"
    return Picture(title, units, call_edges(), event_edges(), shared, uses)


def _shown(source: str) -> str:
    """The topology file relative to the working directory, when inside it."""
    path = Path(source)
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def running_picture(
    units: Iterable[tuple[str, list[str], Mapping[str, Any] | None]],
    observed: Iterable[Mapping[str, Any]] = (),
) -> Picture:
    """The running system: (unit name, services, its ``ucloud.describe``
    answer or None when it did not answer) per unit, and observed call rows."""
    boxes, uses, redis, search = [], {}, False, False
    for name, services, described in units:
        box = UnitBox(name, list(services))
        databases = (described or {}).get("databases", {})
        for alias, database in sorted(databases.items()):
            store = Store(f"db-{name}-{alias}", database["vendor"], database["name"] or alias)
            box.stores.append(store)
        for service in services:
            owned = [s.id for s in box.stores if s.id.endswith(f"-{service}")]
            uses[service] = owned or [s.id for s in box.stores if s.id.endswith("-default")]
        redis = redis or bool((described or {}).get("redis"))
        search = search or bool((described or {}).get("search"))
        boxes.append(box)
    shared = _redis(uses) if redis else []
    shared += _search(uses, force=search)
    return Picture("ucloud: the running system", boxes, call_edges(observed), event_edges(),
                   shared, uses)  # fmt: skip


def _search(uses: dict[str, list[str]], *, force: bool = False) -> list[Store]:
    users = [name for name, s in registry.services().items() if ELASTICSEARCH in s.features]
    if not users and not force:
        return []
    for service in users:
        uses.setdefault(service, []).append("search")
    return [Store("search", "search", "Elasticsearch")]
