"""The split-safety report: what behaves differently when units run apart.

For the units of a topology it lists, with file and line, every place
whose behaviour depends on services sharing a process: calls to another
unit made inside a transaction, forwarded SERVICE principals, query-bound
calls with list or nested fields, processors of a unit with no worker,
relations to another unit's tables and services sharing a database.
Errors will break apart; warnings only behave differently.
``manage.py ucloud_split_check`` prints it::

    findings = split_check(load_topology("config/topology.toml"))
    for finding in findings: print(finding)   # apps/...:12: error [atomic-call]: ...

At run time, ``ucloud.rpc.transaction_guard`` warns of a call to another service
made inside a transaction in one process, which the tests turn into errors.
"""

from __future__ import annotations

import ast
import sys

from django.apps import apps
from django.conf import settings

from ucloud import registry
from ucloud.checks.imports import ServiceSource, parse_source, python_files
from ucloud.databases import user_model_app
from ucloud.deploy.topology import Topology
from ucloud.events.processors import processors
from ucloud.lockfile.describe import declared_streams, service_calls
from ucloud.rpc.implementations import implementations
from ucloud.split_safety.calls import (
    Handler,
    atomic_calls,
    forwarded_principals,
    query_collections,
)
from ucloud.split_safety.data import cross_unit_relations, shared_databases
from ucloud.split_safety.findings import ERROR, WARNING, Finding, display_path, module_line
from ucloud.split_safety.workers import idle_outboxes, idle_processors

__all__ = ["ERROR", "WARNING", "Finding", "split_check"]


def split_check(topology: Topology) -> list[Finding]:
    """Every finding for ``topology`` and the services of this project, by file and line."""
    unit_of = {service: unit.name for unit in topology.units for service in unit.services}
    workers = {unit.name: unit.workers for unit in topology.units}
    sources = [ServiceSource.of(service) for service in registry.services().values()]
    found = atomic_calls(sources, unit_of)
    found += forwarded_principals(_handlers(), sources, unit_of)
    if len(topology.units) > 1:
        found += query_collections((call, registry.service_of(call)) for call in service_calls())
    subscribed = [(p.group, p.function) for p in processors().values()]
    found += idle_processors(subscribed, workers=workers, unit_of=unit_of)
    found += idle_outboxes(_producers(sources), workers=workers, unit_of=unit_of)
    models = [m for m in apps.get_models() if m._meta.app_label in unit_of]
    found += cross_unit_relations(models, unit_of, user_app=user_model_app())
    found += shared_databases(settings.DATABASES, unit_of, where=_databases_setting())
    return sorted(set(found))


def _handlers() -> list[Handler]:
    found: list[Handler] = []
    for call, impls in implementations().items():
        if not impls:
            continue
        try:
            service = registry.service_of(call)
        except LookupError:
            continue
        controller, method = impls[0]
        found.append((call, service, getattr(controller, method)))
    return sorted(found, key=lambda handler: handler[0].full_name)


def _producers(sources: list[ServiceSource]) -> list[tuple[str, str, tuple[str, int]]]:
    by_label = {source.label: source for source in sources}
    found = []
    for name, stream in sorted(declared_streams().items()):
        service = stream.service
        if service is None:
            continue
        source = by_label.get(service)
        where = _stream_declaration(name, source) if source else None
        found.append((name, service, where or ("<unknown>", 0)))
    return found


def _stream_declaration(name: str, source: ServiceSource) -> tuple[str, int] | None:
    """Where a service's code writes ``EventStream("<name>", ...)``."""
    for file in python_files(source.path):
        tree = parse_source(file)
        if tree is None:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            callee = node.func.attr if isinstance(node.func, ast.Attribute) else None
            callee = node.func.id if isinstance(node.func, ast.Name) else callee
            first = node.args[0]
            if callee == "EventStream" and isinstance(first, ast.Constant) and first.value == name:
                return display_path(file), node.lineno
    return None


def _databases_setting() -> tuple[str, int]:
    """Where the settings module assigns DATABASES."""
    module = sys.modules.get(str(getattr(settings, "SETTINGS_MODULE", "")))
    return module_line(module, "DATABASES") if module else ("settings", 0)
