"""The environment of a unit's processes, for one deployment target.

Every variable that makes a process part of the topology is derived here,
so that nothing is edited by hand::

    env = unit_environment(topology, topology.unit("files"), target="procfile",
                           base={"DATABASE_URL": "postgres://postgres@127.0.0.1/postgres"})
    env["UCLOUD_SERVICES"]        # "files"
    env["UCLOUD_SERVICE_URLS"]    # "accounts=http://127.0.0.1:8001,notifications=..."
    env["DATABASE_URL_FILES"]     # "postgres://postgres@127.0.0.1/ucloud_files"

``base`` holds what is the same for every unit: the database server
(``DATABASE_URL``, whose database name is replaced by the unit's, and its
credentials by the unit's own role when ``credentials`` says so), and
optionally ``REDIS_URL``, ``CELERY_BROKER_URL``, ``DJANGO_SECRET_KEY`` and
``UCLOUD_KEYS_DIR``; any other variable passes through unchanged.

``DJANGO_ALLOWED_HOSTS`` comes from the topology: the gateway's ``hosts``,
plus the names the unit is reached by inside the deployment (its service
name in containers, loopback names locally), plus any the base adds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ucloud.deploy.topology import (
    CONTAINER_KEYS_DIR,
    CONTAINER_METRICS_DIR,
    CONTAINER_WORKER_METRICS_PORT,
    TopologyError,
    Unit,
    database_url,
)

if TYPE_CHECKING:
    from ucloud.deploy.topology import Credentials, Target, Topology

# How processes on one machine reach a unit (procfile, make up).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")

# Variables the topology decides; a base environment's values are dropped.
TOPOLOGY_VARIABLES = (
    "UCLOUD_SERVICES",
    "UCLOUD_SERVICE_URLS",
    "UCLOUD_GATEWAY_URL",
    "UCLOUD_KEYS_DIR",
    "DATABASE_URL",
    "PROMETHEUS_MULTIPROC_DIR",
    "UCLOUD_WORKER_METRICS_PORT",
)


def database_variable(service: str) -> str:
    """``files`` -> ``DATABASE_URL_FILES``."""
    return f"DATABASE_URL_{service.upper()}"


def allowed_hosts(
    topology: Topology, unit: Unit, *, target: Target, base: Mapping[str, str]
) -> list[str]:
    """Host names ``unit`` answers: the gateway's, its own inside the deployment."""
    # Locally and behind compose's published gateway port, clients use
    # loopback names; in containers other units use the unit's service name.
    internal = {
        "procfile": LOOPBACK_HOSTS,
        "compose": (unit.name, *LOOPBACK_HOSTS),
        "k8s": (unit.name,),
    }[target]
    extra = [h.strip() for h in base.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h.strip()]
    return list(dict.fromkeys([*topology.hosts, *internal, *extra]))


def unit_environment(
    topology: Topology,
    unit: Unit,
    *,
    target: Target,
    base: Mapping[str, str],
    credentials: Credentials | None = None,
) -> dict[str, str]:
    """The variables of every process of ``unit`` (web, worker, beat), sorted by name."""
    if not base.get("DATABASE_URL"):
        raise TopologyError("the base environment needs DATABASE_URL (the database server)")
    env = {
        key: value
        for key, value in base.items()
        if key not in TOPOLOGY_VARIABLES and not key.startswith("DATABASE_URL_")
    }
    env["UCLOUD_SERVICES"] = ",".join(unit.services)
    env["UCLOUD_SERVICE_URLS"] = ",".join(
        f"{service}={topology.service_url(other, target=target)}"
        for other in topology.units
        if other is not unit
        for service in other.services
    )
    env.update(_databases(topology, unit, base["DATABASE_URL"], credentials))
    env["DJANGO_ALLOWED_HOSTS"] = ",".join(allowed_hosts(topology, unit, target=target, base=base))
    if base.get("REDIS_URL"):
        env["CELERY_BROKER_URL"] = base.get("CELERY_BROKER_URL") or base["REDIS_URL"]
    if target == "procfile":
        if base.get("UCLOUD_KEYS_DIR"):
            env["UCLOUD_KEYS_DIR"] = base["UCLOUD_KEYS_DIR"]
    else:
        env["UCLOUD_KEYS_DIR"] = CONTAINER_KEYS_DIR
        # The processes of a container share its /tmp (a tmpfs or emptyDir,
        # empty at each start); locally the Procfile gives each unit a folder.
        env["PROMETHEUS_MULTIPROC_DIR"] = CONTAINER_METRICS_DIR
        env["UCLOUD_WORKER_METRICS_PORT"] = str(CONTAINER_WORKER_METRICS_PORT)
    return dict(sorted(env.items()))


def _databases(
    topology: Topology, unit: Unit, server_url: str, credentials: Credentials | None
) -> dict[str, str]:
    """DATABASE_URL and DATABASE_URL_<SERVICE> of ``unit``: its own database only.

    The admin unit too: its admin site shows its own services' models and
    reaches the other units (their state, dead letters, figures) through the
    kit's own calls (``ucloud.observe``), never through their databases.
    """

    def url_of(owner: Unit) -> str:
        if credentials is None:
            return database_url(server_url, owner.database)
        user, password = credentials(owner)
        return database_url(server_url, owner.database, user=user, password=password)

    own = url_of(unit)
    env = {"DATABASE_URL": own}
    for service in unit.services:
        env[database_variable(service)] = own
    return env
