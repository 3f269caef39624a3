"""The service catalog: every service with its unit, database, calls, streams,
processors and periodic tasks, generated from the registry, never written.

A call is described as ``contracts.lock`` describes it (binding, roles,
scope, callers, audit, request and response fields, declared errors), plus
its documentation and the errors every call may answer::

    entries = service_catalog()
    files = next(entry for entry in entries if entry.name == "files")
    files.calls[0]["name"], files.calls[0]["roles"]     # "files.browse", ["USER", "ADMIN"]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from ucloud import registry
from ucloud.contracts.calls import CallDescription, containers
from ucloud.contracts.declared_errors import answerable_errors
from ucloud.databases import alias_for
from ucloud.events.processors import groups_of, processors
from ucloud.events.streams import streams
from ucloud.events.tasks import queue_of, relay_queue_of, schedule_periodic_tasks
from ucloud.lockfile.describe import describe_call
from ucloud.lockfile.shapes import describe_serializer
from ucloud.observe.units import THIS_PROCESS, UnitRef, deployment_topology, running_units


@dataclass
class ServiceEntry:
    name: str
    app: str
    unit: str  # where it runs now, as this process sees it
    deployment_unit: str  # where the topology file puts it ("" without one)
    database: str
    features: tuple[str, ...]
    calls: list[dict[str, Any]] = field(default_factory=list)
    produces: list[dict[str, Any]] = field(default_factory=list)
    consumes: list[dict[str, Any]] = field(default_factory=list)
    periodic_tasks: list[dict[str, Any]] = field(default_factory=list)


def field_rows(shape: Mapping[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    """A serializer shape as one row per field (nested ones as ``a.b``, list
    items as ``a[]``), with its type and what a value must satisfy."""
    rows = []
    for name, described in shape.get("fields", {}).items():
        rows.extend(_field(f"{prefix}{name}", described))
    return rows


def _field(name: str, shape: Mapping[str, Any]) -> list[dict[str, Any]]:
    constraints = [f"{key}={value}" for key, value in sorted(shape.get("limits", {}).items())]
    if "choices" in shape:
        constraints.append("one of " + ", ".join(str(choice) for choice in shape["choices"]))
    constraints += [f"matches {pattern}" for pattern in shape.get("pattern", [])]
    constraints += [f"checked by {validator}" for validator in shape.get("validators", [])]
    if "default" in shape:
        constraints.append(f"default {shape['default']}")
    rows = [
        {
            "name": name,
            "type": shape["type"],
            "required": shape.get("required", False),
            "nullable": shape.get("nullable", False),
            "constraints": "; ".join(constraints),
        }
    ]
    if shape["type"] == "object":
        rows += field_rows(shape, f"{name}.")
    if "items" in shape:
        rows += _field(f"{name}[]", shape["items"])
    if "values" in shape:
        rows += _field(f"{name}{{}}", shape["values"])
    return rows


def call_entry(call: CallDescription, service: str) -> dict[str, Any]:
    contract = describe_call(call, service)
    declared = {(error.status, error.error_code) for error in call.errors}
    return {
        **contract,
        "name": call.full_name,
        "summary": call.summary,
        "description": call.description,
        "request_fields": field_rows(contract["request"]),
        "response_fields": field_rows(contract["response"]),
        "all_errors": [
            {
                "status": error.status,
                "error_code": error.error_code,
                "description": error.description,
                "declared": (error.status, error.error_code) in declared,
            }
            for error in answerable_errors(call)
        ],
    }


class _Recorder:
    """Collects what ``schedule_periodic_tasks`` would add to Celery beat."""

    def __init__(self) -> None:
        self.found: list[dict[str, Any]] = []

    def add_periodic_task(self, schedule: float, signature: Any, name: str) -> None:
        self.found.append(
            {
                "name": name,
                "task": signature.task,
                "every_s": schedule,
                "queue": (signature.options or {}).get("queue", ""),
                "args": list(signature.args),
            }
        )


def periodic_tasks() -> list[dict[str, Any]]:
    """The project's beat schedule and the kit's sweeps and pruning."""
    found = []
    for name, entry in sorted(getattr(settings, "CELERY_BEAT_SCHEDULE", {}).items()):
        schedule = entry.get("schedule")
        found.append(
            {
                "name": name,
                "task": entry.get("task", ""),
                "every_s": schedule if isinstance(schedule, int | float) else str(schedule),
                "queue": entry.get("options", {}).get("queue", ""),
                "args": list(entry.get("args", ())),
            }
        )
    recorder = _Recorder()
    schedule_periodic_tasks(recorder)  # duck-typed: it only adds periodic tasks
    return found + recorder.found


def _tasks_of(service: str, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tasks on the service's queues, or named after it."""
    queues = (queue_of(service), relay_queue_of(service))
    return [
        task
        for task in tasks
        if task["queue"] in queues or str(task["task"]).startswith(f"{service}.")
    ]


def _streams_of(service: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    produces = [
        {
            "name": stream.name,
            "key": stream.key,
            "ordered": stream.ordered,
            "payload_fields": field_rows(describe_serializer(stream.payload)),
            "groups": groups_of(stream.name),
        }
        for stream in sorted(streams().values(), key=lambda stream: stream.name)
        if stream.service == service
    ]
    consumes = [
        {
            "stream": proc.stream.name,
            "producer": proc.stream.produced_by or "",
            "processor": f"{proc.function.__module__}.{proc.function.__qualname__}",
            "batched": proc.batched,
            "start": proc.start,
        }
        for proc in sorted(processors().values(), key=lambda proc: proc.id)
        if proc.group == service
    ]
    return produces, consumes


def service_catalog(units: list[UnitRef] | None = None) -> list[ServiceEntry]:
    """Every registered service, by name."""
    units = running_units() if units is None else units
    unit_of = {service: unit.name for unit in units for service in unit.services}
    deployment = deployment_topology()
    tasks = periodic_tasks()
    calls_by_service: dict[str, list[CallDescription]] = {}
    for container in containers().values():
        try:
            owner = registry.service_of_module(container.__module__)
        except LookupError:
            continue  # the kit's own calls, tests, examples
        calls_by_service.setdefault(owner, []).extend(container.calls())
    entries = []
    for name, service in sorted(registry.services().items()):
        produces, consumes = _streams_of(name)
        deployed = ""
        if deployment is not None and name in deployment.services:
            deployed = deployment.unit_of(name).name
        entries.append(
            ServiceEntry(
                name=name,
                app=service.name,
                unit=unit_of.get(name, THIS_PROCESS),
                deployment_unit=deployed,
                database=alias_for(name),
                features=tuple(service.features),
                calls=[
                    call_entry(call, name)
                    for call in sorted(calls_by_service.get(name, []), key=lambda c: c.full_name)
                ],
                produces=produces,
                consumes=consumes,
                periodic_tasks=_tasks_of(name, tasks),
            )
        )
    return entries
