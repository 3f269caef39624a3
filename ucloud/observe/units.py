"""The units of the running system as this process sees them, and asking them.

"This process" serves ``UCLOUD["SERVICES"]``; every other service is reached
at its URL, and the services sharing a URL are one unit, named as
``config/topology.toml`` names it (``UCLOUD_TOPOLOGY`` elsewhere) when the
file is there. The admin asks each unit with the kit's calls as a SERVICE
(``ucloud.observe.api``): in process for this one, over HTTP for the others,
all at once::

    for unit, answer in ask_all(UcloudDescriptions.live, {}).items():
        answer.value or answer.error
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections

from ucloud import registry, serving
from ucloud.auth.credentials import service_principal
from ucloud.contracts.calls import CallDescription
from ucloud.contracts.errors import RPCException
from ucloud.deploy.topology import DEFAULT_PATH, Topology, TopologyError, load_topology
from ucloud.observe.rpc import KitController
from ucloud.rpc.client import RPCClient
from ucloud.rpc.pipeline import execute, new_job_id
from ucloud.rpc.transports import HttpTransport

THIS_PROCESS = "this process"


@dataclass(frozen=True)
class UnitRef:
    """A unit: its name, its services, and its URL (None: this process)."""

    name: str
    services: tuple[str, ...]
    url: str | None = None

    @property
    def here(self) -> bool:
        return self.url is None


def topology_path() -> Path:
    base = Path(getattr(settings, "BASE_DIR", Path.cwd()))
    return Path(os.environ.get("UCLOUD_TOPOLOGY") or base / DEFAULT_PATH)


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> Topology | None:
    try:
        return load_topology(path)
    except TopologyError:
        return None


def deployment_topology() -> Topology | None:
    """The topology file's units, or None when there is no (valid) file."""
    path = topology_path()
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    return _load(str(path), mtime)


def unit_name_of(service: str, deployment: Topology | None = None) -> str | None:
    """The unit the topology file puts ``service`` in."""
    deployment = deployment or deployment_topology()
    if deployment is None:
        return None
    try:
        return deployment.unit_of(service).name
    except KeyError:
        return None


def running_units() -> list[UnitRef]:
    """This process first, then one unit per URL the other services live at.

    This process is "<unit> (this process)" when it serves exactly the
    services of one unit of the topology file, else "this process".
    """
    served = serving.served_services()
    installed = sorted(registry.services())
    deployment = deployment_topology()
    here = tuple(s for s in installed if s in served)
    units = [UnitRef(_this_process(here, deployment), here)]
    by_url: dict[str, list[str]] = {}
    unreachable: list[str] = []
    for service in installed:
        if service in served:
            continue
        try:
            by_url.setdefault(serving.service_url(service), []).append(service)
        except RPCException:
            unreachable.append(service)
    for url, services in by_url.items():
        names = {unit_name_of(service, deployment) for service in services}
        name = names.pop() if len(names) == 1 and None not in names else url
        units.append(UnitRef(str(name), tuple(services), url))
    for service in unreachable:
        units.append(UnitRef(f"{service} (no URL)", (service,), ""))
    return units


def _this_process(services: tuple[str, ...], deployment: Topology | None) -> str:
    names = {unit_name_of(service, deployment) for service in services}
    if len(names) == 1 and None not in names:
        (name,) = names
        unit = deployment.unit(str(name)) if deployment is not None else None
        if unit is not None and set(unit.services) == set(services):
            return f"{name} ({THIS_PROCESS})"
    return THIS_PROCESS


def unit_of(service: str) -> UnitRef | None:
    return next((unit for unit in running_units() if service in unit.services), None)


# Asking ------------------------------------------------------------------------


@dataclass
class Answer:
    value: Any = None
    error: str = ""


def _client() -> RPCClient:
    """The kit speaks as the first service served here."""
    served = sorted(serving.served_services())
    return RPCClient.for_service(served[0])


def ask(unit: UnitRef, call: CallDescription, request: Any) -> Any:
    """Make the kit call ``call`` at ``unit``; its answer, or ``RPCException``."""
    if unit.here:
        served = sorted(serving.served_services())
        return execute(
            call,
            request,
            service_principal(served[0]),
            handler=KitController().handler(call),
            job_id=new_job_id(),
            clients=RPCClient,
        )
    if not unit.url:
        raise RPCException(f"No URL is configured for {unit.name}", 503, "service_not_configured")
    # The token names one of the unit's services as its audience.
    return HttpTransport(unit.services[0], unit.url).call(call, request, _client())


def ask_all(
    call: CallDescription, request: Any, units: list[UnitRef] | None = None
) -> dict[UnitRef, Answer]:
    """Ask every unit at once; each one's answer or error, in unit order."""
    units = running_units() if units is None else units

    def one(unit: UnitRef) -> Answer:
        try:
            return Answer(value=ask(unit, call, request))
        except RPCException as exc:
            return Answer(error=f"{exc.status} {exc.error_code}: {exc.why}")
        finally:
            if not unit.here:
                # A thread of the pool: its database connections end with it.
                connections.close_all()

    # This process is asked in this thread (its transaction, its connection);
    # the others at once, on a pool.
    remote = [unit for unit in units if not unit.here]
    with ThreadPoolExecutor(max_workers=max(1, len(remote))) as pool:
        found = dict(zip(remote, pool.map(one, remote), strict=True))
    return {unit: found[unit] if unit in found else one(unit) for unit in units}
