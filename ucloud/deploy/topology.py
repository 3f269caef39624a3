"""The deployment topology: which units run, what each serves, and their settings.

A unit is one deployable process group (web replicas, Celery workers, maybe
beat) serving one or more services from its own database. The file is TOML
(``config/topology.toml`` by default, ``UCLOUD_TOPOLOGY`` or ``--topology``
elsewhere)::

    topology = load_topology("config/topology.toml")
    env = unit_environment(topology, topology.unit_of("files"), target="procfile",
                           base={"DATABASE_URL": "postgres://postgres@127.0.0.1/postgres"})

Loading checks the file completely (unknown keys, duplicate services and
ports, one admin unit, one beat unit, resources) and raises
``TopologyError`` with every problem found, so a generator never sees a
half-valid topology. A unit's environment is ``ucloud.deploy.environment``'s
``unit_environment``, which builds on this module.

``[gateway]`` also names the public host names (nginx's ``server_name``,
the Ingress's hosts and TLS, every unit's ``ALLOWED_HOSTS``) and the rate
of login attempts per client address; ``[resources.<kind>]`` and
``[units.<name>.resources.<kind>]`` set Kubernetes requests and limits (see
``ucloud.deploy.resources``).
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from ucloud.deploy.resources import Resources, resolve_resources, resource_problems

Target = Literal["procfile", "compose", "k8s"]
TARGETS: tuple[Target, ...] = ("procfile", "compose", "k8s")

DEFAULT_PATH = "config/topology.toml"
# Inside containers every unit listens on this port; its Service or compose
# DNS name tells the units apart.
CONTAINER_PORT = 8000
# Where compose and Kubernetes mount the identity keys (a volume or Secret).
CONTAINER_KEYS_DIR = "/run/ucloud/keys"
# Prometheus values of a container's processes (multiprocess mode), in its /tmp.
CONTAINER_METRICS_DIR = "/tmp/ucloud-metrics"
# A worker container serves its processes' metrics on this port (its /tmp is
# its own, so the unit's web processes cannot).
CONTAINER_WORKER_METRICS_PORT = 9108
# Workers and beat touch this file while they work (ucloud.heartbeat); their
# probes fail once it is older than HEARTBEAT_MAX_AGE seconds.
CONTAINER_HEARTBEAT_FILE = "/tmp/ucloud-heartbeat"
HEARTBEAT_MAX_AGE = 120
# Replica i of a unit listens on port + REPLICA_PORT_STEP * i when run
# locally (procfile, make up): 8001, 8101, 8201...
REPLICA_PORT_STEP = 100
# The service whose unit also answers UCloud's /auth/ paths at the gateway.
DEFAULT_AUTH_SERVICE = "accounts"

_UNIT_NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")  # a DNS label: compose, k8s
_SERVICE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")  # a Django app label
_DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,62}$")
_HOST_NAME = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_RATE = re.compile(r"^[1-9]\d*r/[sm]$")  # nginx: requests per second or minute
_GATEWAY_KEYS = {"port", "auth_service", "hosts", "tls_secret", "login_rate", "login_burst"}
_UNIT_KEYS = {"services", "replicas", "workers", "beat", "admin", "port", "database", "resources"}
# /status/<unit> is each unit's status at the gateway: these are taken.
RESERVED_UNIT_NAMES = {"live", "gateway"}
DEFAULT_TLS_SECRET = "ucloud-tls"
DEFAULT_LOGIN_RATE = "30r/m"
DEFAULT_LOGIN_BURST = 20


# The database user and password of a unit (one role per unit), as they
# should appear in its database URLs; None keeps the server URL's own.
Credentials = Callable[["Unit"], tuple[str, str]]


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
    # process kind -> {"requests": {...}, "limits": {...}}; see ucloud.deploy.resources.
    resources: Mapping[str, Resources] = field(default_factory=dict, hash=False)

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
    # Public host names of the gateway; empty: none declared (local use).
    hosts: tuple[str, ...] = ()
    tls_secret: str = DEFAULT_TLS_SECRET
    login_rate: str = DEFAULT_LOGIN_RATE
    login_burst: int = DEFAULT_LOGIN_BURST
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


def database_url(
    server_url: str, database: str, *, user: str | None = None, password: str | None = None
) -> str:
    """``server_url`` pointing at ``database`` instead of its own database.

    PostgreSQL URLs get another path, and with ``user`` (and ``password``)
    other credentials; a SQLite file gets a sibling file named after the
    database, so that units never share a file.
    """
    if server_url.startswith("sqlite"):
        # sqlite:///relative/file or sqlite:////absolute/file (django-environ).
        scheme, _, rest = server_url.partition("://")
        folder = posixpath.dirname(rest[1:] if rest.startswith("/") else rest)
        return f"{scheme}:///{posixpath.join(folder, database + '.sqlite3')}"
    parts = urlsplit(server_url)
    if user is not None:
        # The host part as written: it may be a placeholder such as ${DATABASE_HOST}.
        host = parts.netloc.rpartition("@")[2]
        login = f"{user}:{password}" if password is not None else user
        parts = parts._replace(netloc=f"{login}@{host}")
    return parts._replace(path=f"/{database}").geturl()


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
    known = ("gateway", "units", "resources")
    problems = [f"unknown top-level key {key!r}" for key in data if key not in known]
    gateway = data.get("gateway", {})
    problems += _unknown_keys("[gateway]", gateway, _GATEWAY_KEYS) or _gateway_problems(gateway)
    shared_resources = data.get("resources", {})
    problems += resource_problems("[resources]", shared_resources)
    units_data = data.get("units")
    if not isinstance(units_data, dict) or not units_data:
        problems.append("no [units.<name>] tables")
        units_data = {}
    units = []
    for name, table in units_data.items():
        unit, unit_problems = _parse_unit(name, table, shared_resources if not problems else {})
        problems += unit_problems
        if unit is not None:
            units.append(unit)
    topology = Topology(
        units=tuple(units),
        gateway_port=gateway.get("port", 8080),
        auth_service=gateway.get("auth_service", DEFAULT_AUTH_SERVICE),
        source=source,
        hosts=tuple(gateway.get("hosts", ())),
        tls_secret=gateway.get("tls_secret", DEFAULT_TLS_SECRET),
        login_rate=gateway.get("login_rate", DEFAULT_LOGIN_RATE),
        login_burst=gateway.get("login_burst", DEFAULT_LOGIN_BURST),
    )
    if not problems:
        problems = _consistency_problems(topology)
    _raise_if(problems, source)
    return topology


def _gateway_problems(gateway: dict[str, Any]) -> list[str]:
    problems = []
    hosts = gateway.get("hosts", [])
    if not isinstance(hosts, list) or not all(
        isinstance(h, str) and _HOST_NAME.match(h) for h in hosts
    ):
        problems.append(f"[gateway]: hosts must be a list of host names, not {hosts!r}")
    tls_secret = gateway.get("tls_secret", DEFAULT_TLS_SECRET)
    if not isinstance(tls_secret, str) or not _UNIT_NAME.match(tls_secret):
        problems.append(f"[gateway]: tls_secret must be a Secret name, not {tls_secret!r}")
    rate = gateway.get("login_rate", DEFAULT_LOGIN_RATE)
    if not isinstance(rate, str) or not _RATE.match(rate):
        problems.append(f'[gateway]: login_rate must be like "30r/m" or "5r/s", not {rate!r}')
    burst = gateway.get("login_burst", DEFAULT_LOGIN_BURST)
    if type(burst) is not int or burst < 0:
        problems.append(f"[gateway]: login_burst must be 0 or more, not {burst!r}")
    return problems


def _parse_unit(
    name: str, table: Any, shared_resources: Mapping[str, Any]
) -> tuple[Unit | None, list[str]]:
    where = f"[units.{name}]"
    if not isinstance(table, dict):
        return None, [f"{where} is not a table"]
    problems = _unknown_keys(where, table, _UNIT_KEYS)
    if not _UNIT_NAME.match(name):
        problems.append(f"{where}: unit names are lower-case DNS labels (a-z, 0-9, -)")
    if name in RESERVED_UNIT_NAMES:
        problems.append(f"{where}: {name!r} is reserved (/status/{name} at the gateway)")
    problems += resource_problems(f"{where}.resources", table.get("resources", {}))
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
    try:
        resources = resolve_resources(shared_resources, table.get("resources", {}))
    except ValueError as exc:
        return None, [f"{where}: {exc}"]
    unit = Unit(
        name=name,
        services=tuple(services),
        port=table["port"],
        replicas=table.get("replicas", 1),
        workers=table.get("workers", 1),
        beat=table.get("beat", False),
        admin=table.get("admin", False),
        database=table.get("database", f"ucloud_{name.replace('-', '_')}"),
        resources=resources,
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
