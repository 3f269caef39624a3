"""Which service calls which, read from the source as check E003 reads it.

A service may use another only through its ``api`` module; importing a
``CallDescriptionContainer`` from there (``from apps.accounts.api import
AccountDescriptions``) is a call edge, and the attributes used on it name
the calls (``AccountDescriptions.retrieve_user``). Importing a stream from
another's ``api`` is an event subscription, not a call: the processors
say that. Nothing is imported or run::

    static_call_edges()   # {("files", "accounts"): {"accounts.retrieve_user"}}
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

from ucloud import registry
from ucloud.checks.imports import ServiceSource, owner_of, parse_source, python_files
from ucloud.contracts.calls import CallDescriptionContainer, containers

Edges = dict[tuple[str, str], set[str]]


def _containers_by_path() -> dict[str, type[CallDescriptionContainer]]:
    return {f"{c.__module__}.{c.__qualname__}": c for c in containers().values()}


def _module_containers(module: str) -> list[type[CallDescriptionContainer]]:
    return [c for c in containers().values() if c.__module__ == module]


def _edges_of(source: ServiceSource, sources: Sequence[ServiceSource], found: Edges) -> None:
    by_path = _containers_by_path()
    for file in python_files(source.path):
        tree = parse_source(file)
        if tree is None:
            continue
        # Local name -> the containers it stands for, and the service owning them.
        names: dict[str, tuple[str, list[type[CallDescriptionContainer]]]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    _bind(source, sources, f"{node.module}.{alias.name}", alias, by_path, names)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    _bind(source, sources, alias.name, alias, by_path, names)
        for node in ast.walk(tree):
            target = _attribute_use(node, names)
            if target is not None:
                owner, container, attribute = target
                calls = {call.name: call for call in container.calls()}
                if attribute in calls:
                    found.setdefault((source.label, owner), set()).add(calls[attribute].full_name)
        for owner, _ in names.values():
            found.setdefault((source.label, owner), set())


def _bind(
    source: ServiceSource,
    sources: Sequence[ServiceSource],
    target: str,
    alias: ast.alias,
    by_path: dict[str, type[CallDescriptionContainer]],
    names: dict[str, tuple[str, list[type[CallDescriptionContainer]]]],
) -> None:
    owner = owner_of(target, sources)
    if owner is None or owner.label == source.label:
        return
    api = f"{owner.package}.api"
    if target in by_path:  # a container imported by name
        names[alias.asname or alias.name] = (owner.label, [by_path[target]])
    elif target == api and _module_containers(api):  # the api module itself
        names[alias.asname or target] = (owner.label, _module_containers(api))


def _attribute_use(
    node: ast.AST, names: dict[str, tuple[str, list[type[CallDescriptionContainer]]]]
) -> tuple[str, type[CallDescriptionContainer], str] | None:
    """``Container.call`` (or ``module.Container.call``) on an imported name."""
    if not isinstance(node, ast.Attribute):
        return None
    value = node.value
    if isinstance(value, ast.Name) and value.id in names:
        owner, found = names[value.id]
        if len(found) == 1:
            return owner, found[0], node.attr
    if isinstance(value, ast.Attribute):
        dotted = ast.unparse(value.value)
        if dotted in names:
            owner, found = names[dotted]
            for container in found:
                if container.__qualname__ == value.attr:
                    return owner, container, node.attr
    return None


def static_call_edges() -> Edges:
    """(caller, callee) -> the calls the caller's code names, for every service."""
    sources = [ServiceSource.of(service) for service in registry.services().values()]
    found: Edges = {}
    for source in sources:
        _edges_of(source, sources, found)
    return found
