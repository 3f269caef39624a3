"""The deployment topology: which units run, what each serves, and their settings.

A unit is one deployable process group (web replicas, Celery workers, maybe
beat) serving one or more services from its own database. The file is TOML
(``config/topology.toml`` by default, ``UCLOUD_TOPOLOGY`` or ``--topology``
elsewhere)::

    topology = load_topology("config/topology.toml")
    env = topology.environment(topology.unit_of("files"), target="procfile",
                               base={"DATABASE_URL": "postgres://postgres@127.0.0.1/postgres"})

Loading checks the file completely (unknown keys, duplicate services and
ports, one admin unit, one beat unit) and raises ``TopologyError`` with
every problem found, so a generator never sees a half-valid topology.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

Target = Literal["procfile", "compose", "k8s"]
TARGETS: tuple[Target, ...] = ("procfile", "compose", "k8s")

DEFAULT_PATH = "config/topology.toml"
# Inside containers every unit listens on this port; its Service or compose
# DNS name tells the units apart.
CONTAINER_PORT = 8000
# Where compose and Kubernetes mount the identity keys (a volume or Secret).
CONTAINER_KEYS_DIR = "/run/ucloud/keys"
# Replica i of a unit listens on port + REPLICA_PORT_STEP * i when run
# locally (procfile, make up): 8001, 8101, 8201...
REPLICA_PORT_STEP = 100
# The service whose unit also answers UCloud's /auth/ paths at the gateway.
DEFAULT_AUTH_SERVICE = "accounts"

_UNIT_NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")  # a DNS label: compose, k8s
_SERVICE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")  # a Django app label
_DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,62}$")
_GATEWAY_KEYS = {"port", "auth_service"}
_UNIT_KEYS = {"services", "replicas", "workers", "beat", "admin", "port", "database"}


class TopologyError(ValueError):
    """The topology file is missing, unreadable or inconsistent."""


@dataclass(frozen=True)
class Unit:
    """One deployment unit, as declared under ``[units.<name>]``."""

    name: str
    services: tuple[str, ...]
    port: int
    replicas: int = 1
    workers: int = 1
    beat: bool = False
    admin: bool = False
    database: str = ""

    @property
    def local_ports(self) -> tuple[int, ...]:
        """Loopback port of each replica when run locally."""
        return tuple(self.port + REPLICA_PORT_STEP * i for i in range(self.replicas))


@dataclass(frozen=True)
class Topology:
    """Every unit of a deployment, the gateway port and each service's namespaces."""

    units: tuple[Unit, ...]
    gateway_port: int = 8080
    auth_service: str = DEFAULT_AUTH_SERVICE
    source: str = DEFAULT_PATH
    # service -> the API namespaces it serves (``/api/<namespace>``); a
    # service not listed serves the namespace named like itself.
    namespaces: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(service for unit in self.units for service in unit.services)

    @property
    def admin_unit(self) -> Unit:
        return next(unit for unit in self.units if unit.admin)

    def unit(self, name: str) -> Unit:
        for unit in self.units:
            if unit.name == name:
                return unit
        raise KeyError(name)

    def unit_of(self, service: str) -> Unit:
        """The unit serving ``service``; ``KeyError`` if none does."""
        for unit in self.units:
            if service in unit.services:
                return unit
        raise KeyError(service)

    def namespaces_of(self, unit: Unit) -> tuple[str, ...]:
        """API namespaces served by ``unit``, sorted."""
        found = {ns for service in unit.services for ns in self.namespaces.get(service, (service,))}
        return tuple(sorted(found))

    def auth_unit(self) -> Unit | None:
        """The unit answering ``/auth/`` at the gateway, if its service is deployed."""
        try:
            return self.unit_of(self.auth_service)
        except KeyError:
            return None

    def with_namespaces(self, namespaces: Mapping[str, tuple[str, ...]]) -> Topology:
        return dataclasses.replace(self, namespaces=dict(namespaces))

    def with_ports(self, ports: Mapping[str, int], *, gateway_port: int | None = None) -> Topology:
        """A copy with other local ports (tests pick free ones), checked again."""
        units = tuple(
            dataclasses.replace(unit, port=ports.get(unit.name, unit.port)) for unit in self.units
        )
        changed = dataclasses.replace(
            self,
            units=units,
            gateway_port=self.gateway_port if gateway_port is None else gateway_port,
        )
        _raise_if(_port_problems(changed))
        return changed

    def with_databases(self, databases: Mapping[str, str]) -> Topology:
        """A copy with other database names per unit (tests use unique ones)."""
        units = tuple(
            dataclasses.replace(unit, database=databases.get(unit.name, unit.database))
            for unit in self.units
        )
        return dataclasses.replace(self, units=units)

    def service_url(self, unit: Unit, *, target: Target) -> str:
        """Where other units reach ``unit``: loopback locally, its DNS name in containers."""
        if target == "procfile":
            return f"http://127.0.0.1:{unit.port}"
        return f"http://{unit.name}:{CONTAINER_PORT}"

    def environment(self, unit: Unit, *, target: Target, base: Mapping[str, str]) -> dict[str, str]:
        """The environment of every process of ``unit``; see ``ucloud.deploy.environment``."""
        from ucloud.deploy.environment import unit_environment

        return unit_environment(self, unit, target=target, base=base)


def database_url(server_url: str, database: str) -> str:
    """``server_url`` pointing at ``database`` instead of its own database.

    PostgreSQL URLs get another path; a SQLite file gets a sibling file named
    after the database, so that units never share a file.
    """
    if server_url.startswith("sqlite"):
        # sqlite:///relative/file or sqlite:////absolute/file (django-environ).
        scheme, _, rest = server_url.partition("://")
        folder = posixpath.dirname(rest[1:] if rest.startswith("/") else rest)
        return f"{scheme}:///{posixpath.join(folder, database + '.sqlite3')}"
    return urlsplit(server_url)._replace(path=f"/{database}").geturl()


def load_topology(path: str | Path) -> Topology:
    """Read and check the TOML topology at ``path``."""
    try:
        with Path(path).open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise TopologyError(f"{path}: no such topology file") from None
    except tomllib.TOMLDecodeError as exc:
        raise TopologyError(f"{path}: not valid TOML: {exc}") from None
    return parse_topology(data, source=str(path))


def parse_topology(data: Mapping[str, Any], *, source: str = DEFAULT_PATH) -> Topology:
    """Build a ``Topology`` from parsed TOML; ``TopologyError`` lists every problem."""
    problems = [f"unknown top-level key {key!r}" for key in data if key not in ("gateway", "units")]
    gateway = data.get("gateway", {})
    problems += _unknown_keys("[gateway]", gateway, _GATEWAY_KEYS)
    units_data = data.get("units")
    if not isinstance(units_data, dict) or not units_data:
        problems.append("no [units.<name>] tables")
        units_data = {}
    units = []
    for name, table in units_data.items():
        unit, unit_problems = _parse_unit(name, table)
        problems += unit_problems
        if unit is not None:
            units.append(unit)
    topology = Topology(
        units=tuple(units),
        gateway_port=gateway.get("port", 8080),
        auth_service=gateway.get("auth_service", DEFAULT_AUTH_SERVICE),
        source=source,
    )
    if not problems:
        problems = _consistency_problems(topology)
    _raise_if(problems, source)
    return topology


def _parse_unit(name: str, table: Any) -> tuple[Unit | None, list[str]]:
    where = f"[units.{name}]"
    if not isinstance(table, dict):
        return None, [f"{where} is not a table"]
    problems = _unknown_keys(where, table, _UNIT_KEYS)
    if not _UNIT_NAME.match(name):
        problems.append(f"{where}: unit names are lower-case DNS labels (a-z, 0-9, -)")
    services = table.get("services")
    if not isinstance(services, list) or not services:
        problems.append(f"{where}: services must be a non-empty list of service names")
        services = []
    problems += [
        f"{where}: {s!r} is not a service label"
        for s in services
        if not isinstance(s, str) or not _SERVICE_NAME.match(s)
    ]
    checks = {
        "port": (int, lambda v: 1 <= v <= 65535, "a port number"),
        "replicas": (int, lambda v: v >= 1, "at least 1"),
        "workers": (int, lambda v: v >= 0, "0 or more"),
        "beat": (bool, lambda v: True, "true or false"),
        "admin": (bool, lambda v: True, "true or false"),
        "database": (str, lambda v: bool(_DATABASE_NAME.match(v)), "a database name"),
    }
    for key, (kind, valid, wanted) in checks.items():
        if key in table and (type(table[key]) is not kind or not valid(table[key])):
            problems.append(f"{where}: {key} must be {wanted}, not {table[key]!r}")
    if "port" not in table:
        problems.append(f"{where}: port is required (its local port for procfile and make up)")
    if problems:
        return None, problems
    unit = Unit(
        name=name,
        services=tuple(services),
        port=table["port"],
        replicas=table.get("replicas", 1),
        workers=table.get("workers", 1),
        beat=table.get("beat", False),
        admin=table.get("admin", False),
        database=table.get("database", f"ucloud_{name.replace('-', '_')}"),
    )
    return unit, []


def _unknown_keys(where: str, table: Any, known: set[str]) -> list[str]:
    if not isinstance(table, dict):
        return [f"{where} is not a table"]
    return [
        f"{where}: unknown key {key!r} (known: {', '.join(sorted(known))})"
        for key in table
        if key not in known
    ]


def _consistency_problems(topology: Topology) -> list[str]:
    problems = []
    seen: dict[str, str] = {}
    for unit in topology.units:
        for service in unit.services:
            if service in seen:
                problems.append(f"service {service!r} is in both {seen[service]} and {unit.name}")
            seen.setdefault(service, unit.name)
    for flag in ("admin", "beat"):
        flagged = [unit.name for unit in topology.units if getattr(unit, flag)]
        if len(flagged) != 1:
            problems.append(
                f"exactly one unit must have {flag} = true, found {len(flagged)}"
                + (f" ({', '.join(flagged)})" if flagged else "")
            )
    databases: dict[str, str] = {}
    for unit in topology.units:
        if unit.database in databases:
            problems.append(
                f"units {databases[unit.database]} and {unit.name} share database {unit.database!r}"
            )
        databases.setdefault(unit.database, unit.name)
    return problems + _port_problems(topology)


def _port_problems(topology: Topology) -> list[str]:
    gateway = topology.gateway_port
    if type(gateway) is not int or not 1 <= gateway <= 65535:
        return [f"[gateway]: port must be a port number, not {gateway!r}"]
    owners: dict[int, str] = {gateway: "the gateway"}
    problems = []
    for unit in topology.units:
        for index, port in enumerate(unit.local_ports):
            who = f"{unit.name} (replica {index + 1})" if unit.replicas > 1 else unit.name
            if port in owners:
                problems.append(f"port {port} is used by both {owners[port]} and {who}")
            elif port > 65535:
                problems.append(f"{who}: port {port} is past 65535")
            owners.setdefault(port, who)
    return problems


def _raise_if(problems: list[str], source: str = "topology") -> None:
    if problems:
        raise TopologyError(f"{source}: " + "; ".join(problems))
