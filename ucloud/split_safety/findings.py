"""One place whose behaviour changes when services run apart, and how it is shown.

A finding is an error when the code will break apart (the check exits
non-zero) and a warning when it only behaves differently::

    Finding("atomic-call", ERROR, "apps/files/services.py", 110, "files calls ...", "Make ...")
    str(finding)   # "apps/files/services.py:110: error [atomic-call]: files calls ..."
"""

from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from django.conf import settings

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"


@dataclass(frozen=True, order=True)
class Finding:
    """``kind`` names the rule (``atomic-call``, ``query-collection``, ...)."""

    file: str
    line: int
    kind: str
    severity: Severity
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}: {self.severity} [{self.kind}]: {self.message}"
        return f"{text}\n    {self.hint}" if self.hint else text


def display_path(path: str | Path) -> str:
    """``path`` relative to the project (BASE_DIR) when it is inside it."""
    resolved = Path(path).resolve()
    base = Path(getattr(settings, "BASE_DIR", Path.cwd())).resolve()
    try:
        return str(resolved.relative_to(base))
    except ValueError:
        return str(resolved)


def where_defined(obj: Any) -> tuple[str, int]:
    """(file, line) of a function or class, as shown in findings."""
    target = inspect.unwrap(obj)
    file = inspect.getsourcefile(target) or "<unknown>"
    try:
        lines, first = inspect.getsourcelines(target)
    except (OSError, TypeError):
        return display_path(file), 0
    # The ``def`` or ``class`` line itself, below any decorators.
    for offset, text in enumerate(lines):
        if text.lstrip().startswith(("def ", "async def ", "class ")):
            return display_path(file), first + offset
    return display_path(file), first


def attribute_line(cls: type, attribute: str) -> tuple[str, int]:
    """(file, line) where the body of ``cls``, or of the base class declaring
    it, assigns ``attribute`` (a serializer or model field); the class itself
    when no body does."""
    for owner in cls.__mro__:
        file = _source_file(owner)
        if file is None:
            continue
        for node in ast.walk(parse_file(file)):
            if isinstance(node, ast.ClassDef) and node.name == owner.__name__:
                for statement in node.body:
                    if _assigns(statement, attribute):
                        return display_path(file), statement.lineno
    return where_defined(cls)


def module_line(module: ModuleType, name: str) -> tuple[str, int]:
    """(file, line) where ``module`` assigns ``name`` at its top level."""
    file = inspect.getsourcefile(module)
    if file is None:
        return module.__name__, 0
    for statement in parse_file(file).body:
        if _assigns(statement, name):
            return display_path(file), statement.lineno
    return display_path(file), 0


def _source_file(cls: type) -> str | None:
    try:
        return inspect.getsourcefile(cls)
    except TypeError:  # built-in classes have no source
        return None


@cache
def parse_file(file: str) -> ast.Module:
    """The syntax tree of a source file, parsed once per process."""
    return ast.parse(Path(file).read_text(encoding="utf-8"), filename=file)


def _assigns(statement: ast.stmt, name: str) -> bool:
    if isinstance(statement, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == name for t in statement.targets)
    if isinstance(statement, ast.AnnAssign):
        return isinstance(statement.target, ast.Name) and statement.target.id == name
    return False
