"""Calls whose behaviour depends on whether caller and callee share a process.

- ``atomic-call``: a call to a service of another unit inside the caller's
  ``transaction.atomic()``. In one process the callee's writes join the
  caller's transaction (and roll back with it, and it sees the caller's
  uncommitted rows); apart it commits on its own, whatever the caller does.
- ``forwarded-principal``: a handler that other services may call passes
  ``ctx.client`` (the caller's principal) on to a service of another unit.
  In one process the onward call runs as that SERVICE principal; apart its
  token was minted for this service, and the next one refuses it (401
  ``wrong_audience``).
- ``query-collection``: a query-bound call with a list, map or nested
  field. In one process the value arrives as the caller built it; over HTTP
  it must fit a query string: an empty list is not sent at all, values
  arrive as text, and maps or objects cannot be sent::

    atomic_calls(sources, unit_of={"files": "files", "accounts": "accounts"})
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from rest_framework import serializers

from ucloud.checks.imports import ServiceSource, owner_of, parse_source, python_files
from ucloud.contracts.bindings import RequestSource
from ucloud.contracts.calls import CallDescription
from ucloud.contracts.roles import Role
from ucloud.split_safety.findings import (
    ERROR,
    WARNING,
    Finding,
    attribute_line,
    display_path,
    parse_file,
)
from ucloud.split_safety.source import (
    attribute_uses,
    call_sites,
    client_argument,
    dotted,
    import_names,
)

UnitOf = Mapping[str, str]
# (call, its service, the function implementing it)
Handler = tuple[CallDescription, str, Callable[..., Any]]

_COLLECTIONS = (
    serializers.ListField,
    serializers.ListSerializer,
    serializers.MultipleChoiceField,
    serializers.DictField,
    serializers.JSONField,
    serializers.Serializer,
)


def _callee(target: str, sources: Sequence[ServiceSource]) -> ServiceSource | None:
    return owner_of(target, sources)


def _apart(one: str, other: str, unit_of: UnitOf) -> bool:
    return one in unit_of and other in unit_of and unit_of[one] != unit_of[other]


def atomic_calls(sources: Sequence[ServiceSource], unit_of: UnitOf) -> list[Finding]:
    """Calls to another unit's service inside a ``transaction.atomic`` block."""
    found = []
    for source in sources:
        for file in python_files(source.path):
            tree = parse_source(file)
            if tree is None:
                continue
            names = import_names(tree, *source.module_of(file))
            for site in call_sites(tree, names):
                callee = _callee(site.target, sources)
                if not site.in_atomic or callee is None:
                    continue
                if not _apart(source.label, callee.label, unit_of):
                    continue
                name = site.target.rpartition(".")[2]
                found.append(
                    Finding(
                        display_path(file),
                        site.line,
                        "atomic-call",
                        ERROR,
                        f"{source.label} calls {callee.label}'s {name} inside "
                        f"transaction.atomic: together the call joins this transaction (its "
                        f"writes roll back with it); with {callee.label} in unit "
                        f"{unit_of[callee.label]} it commits on its own.",
                        "Make the call before the transaction or after it commits "
                        "(transaction.on_commit), or tell the other service with an event "
                        "produced in the transaction.",
                    )
                )
    return found


def forwarded_principals(
    handlers: Iterable[Handler], sources: Sequence[ServiceSource], unit_of: UnitOf
) -> list[Finding]:
    """Handlers open to SERVICE callers that pass ``ctx.client`` onward."""
    found = []
    for call, service, function in handlers:
        if Role.SERVICE not in call.roles:
            continue
        located = _function_node(function)
        if located is None:
            continue
        file, node, names = located
        ctx = _context_parameter(node)
        if ctx is None:
            continue
        onward = _onward_calls(node, names)
        for use in attribute_uses(node, ctx, "client"):
            target = onward.get(id(use))
            callee = _callee(target, sources) if target else None
            if callee is not None and not _apart(service, callee.label, unit_of):
                continue  # the same unit: the call stays in process
            severity = ERROR if callee is not None else WARNING
            where = (
                f"to {callee.label} (unit {unit_of[callee.label]})"
                if callee is not None
                else "onward"
            )
            found.append(
                Finding(
                    display_path(file),
                    use.lineno,
                    "forwarded-principal",
                    severity,
                    f"{call.full_name} may be called by services and passes {ctx}.client "
                    f"{where}: a calling service's principal goes on, which works in one "
                    "process; apart its token was minted for "
                    f"{service}, and the next service answers 401 wrong_audience.",
                    f"Call onward as {service} itself ({ctx}.service_client), passing the "
                    "user it acts for in the request if the callee needs it.",
                )
            )
    return found


def _function_node(
    function: Callable[..., Any],
) -> tuple[str, ast.FunctionDef | ast.AsyncFunctionDef, dict[str, str]] | None:
    target = inspect.unwrap(function)
    file = inspect.getsourcefile(target)
    if file is None:
        return None
    first = target.__code__.co_firstlineno
    tree = parse_file(file)
    module = getattr(target, "__module__", "")
    names = import_names(tree, module, is_package=file.endswith("__init__.py"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.name == target.__name__
        ):
            lines = {node.lineno, *(d.lineno for d in node.decorator_list)}
            if first in lines:
                return file, node, names
    return None


def _context_parameter(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    params = [arg.arg for arg in node.args.args]
    if params and params[0] in ("self", "cls"):
        params = params[1:]
    return params[0] if params else None


def _onward_calls(node: ast.AST, names: dict[str, str]) -> dict[int, str]:
    """id(client expression) -> dotted target, for each ``X.call(request, client)``."""
    onward = {}
    for call in ast.walk(node):
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
            continue
        if call.func.attr != "call":
            continue
        target = dotted(call.func.value, names)
        client = client_argument(call)
        if target is not None and client is not None:
            onward[id(client)] = target
    return onward


def query_collections(calls: Iterable[tuple[CallDescription, str]]) -> list[Finding]:
    """Query-bound calls whose request has a list, map or nested field."""
    found = []
    for call, _service in calls:
        if call.http.source is not RequestSource.QUERY:
            continue
        for name, field in call.request().fields.items():
            if not isinstance(field, _COLLECTIONS):
                continue
            file, line = attribute_line(call.request, name)
            kind = type(field).__name__
            found.append(
                Finding(
                    file,
                    line,
                    "query-collection",
                    ERROR,
                    f"{call.full_name} reads {name} ({kind}) from its query string: in one "
                    "process the value arrives as the caller built it; over HTTP an empty "
                    "list is not sent at all, values arrive as text, and maps or objects "
                    "cannot be sent.",
                    "Bind the call to a JSON body (http_search() or http_update(...)), or "
                    "make the field a single value.",
                )
            )
    return found
