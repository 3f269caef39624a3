"""Reading service code for calls to other services, without running it.

Names are resolved through the module's imports, so ``AccountDescriptions.
retrieve_user.call(...)`` after ``from apps.accounts.api import
AccountDescriptions`` is a call into ``apps.accounts.api``; each call site
knows whether a ``transaction.atomic`` block (or decorator) encloses it::

    names = import_names(tree, "apps.files.services", is_package=False)
    for site in call_sites(tree, names):
        site.target, site.line, site.in_atomic
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class CallSite:
    """``<target>.call(request, client)`` somewhere in a module."""

    line: int
    target: str  # dotted: apps.accounts.api.AccountDescriptions.retrieve_user
    in_atomic: bool
    client: ast.expr | None  # the client argument as written


def import_names(tree: ast.AST, module: str, is_package: bool) -> dict[str, str]:
    """Local name -> dotted target of every import in ``tree``."""
    package = module if is_package else module.rpartition(".")[0]
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    head = alias.name.partition(".")[0]
                    names[head] = head
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            if base is None:
                continue
            for alias in node.names:
                if alias.name != "*":
                    names[alias.asname or alias.name] = f"{base}.{alias.name}"
    return names


def _absolute(node: ast.ImportFrom, package: str) -> str | None:
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    if node.level - 1 >= len(parts):
        return None
    kept = parts[: len(parts) - (node.level - 1)]
    return ".".join([*kept, node.module] if node.module else kept)


def dotted(expr: ast.expr, names: dict[str, str]) -> str | None:
    """The dotted target an expression like ``api.Descriptions.op`` names, if imported."""
    if isinstance(expr, ast.Name):
        return names.get(expr.id)
    if isinstance(expr, ast.Attribute):
        base = dotted(expr.value, names)
        return f"{base}.{expr.attr}" if base else None
    return None


def is_atomic(expr: ast.expr) -> bool:
    """``atomic(...)``, ``transaction.atomic(...)`` or the bare decorator."""
    if isinstance(expr, ast.Call):
        expr = expr.func
    if isinstance(expr, ast.Attribute):
        return expr.attr == "atomic"
    return isinstance(expr, ast.Name) and expr.id == "atomic"


def call_sites(tree: ast.AST, names: dict[str, str]) -> list[CallSite]:
    """Every ``<imported name>.call(...)`` in ``tree``, in line order."""
    finder = _CallSites(names)
    finder.visit(tree)
    return sorted(finder.sites, key=lambda site: site.line)


def client_argument(node: ast.Call) -> ast.expr | None:
    """The client of ``X.call(request, client)`` (positional or ``client=``)."""
    if len(node.args) > 1:
        return node.args[1]
    return next((k.value for k in node.keywords if k.arg == "client"), None)


class _CallSites(ast.NodeVisitor):
    """Collects call sites; ``depth`` counts the atomic blocks around the visit."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.depth = 0
        self.sites: list[CallSite] = []

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.visit(item.context_expr)
        atomic = any(is_atomic(item.context_expr) for item in node.items)
        self.depth += atomic
        for statement in node.body:
            self.visit(statement)
        self.depth -= atomic

    visit_AsyncWith = visit_With

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        # A function body runs when called, not where it is defined.
        saved, self.depth = self.depth, int(any(is_atomic(d) for d in node.decorator_list))
        for statement in node.body:
            self.visit(statement)
        self.depth = saved

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        saved, self.depth = self.depth, 0
        self.generic_visit(node)
        self.depth = saved

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Attribute) and node.func.attr == "call":
            target = dotted(node.func.value, self.names)
            if target is not None:
                site = CallSite(node.lineno, target, self.depth > 0, client_argument(node))
                self.sites.append(site)
        self.generic_visit(node)


def attribute_uses(tree: ast.AST, owner: str, attribute: str) -> Iterator[ast.Attribute]:
    """Every ``<owner>.<attribute>`` in ``tree`` (e.g. ``ctx.client``)."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr == attribute
            and isinstance(node.value, ast.Name)
            and node.value.id == owner
        ):
            yield node
