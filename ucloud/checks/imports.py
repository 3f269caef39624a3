"""The import rule (E003): another service's code is reached only through its ``api``.

The service sources are parsed with ``ast``, never imported, so a forbidden
import is found even in code no test runs. ``ServiceSource`` and the parsing
helpers serve the other source checks (E008) and the split-safety report::

    check_service_imports(sources=[ServiceSource.of(apps.get_app_config("files"))])
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Error, register

from ucloud import registry
from ucloud.checks.base import TAG, selected_services


@dataclass(frozen=True)
class ServiceSource:
    """Where a service's code lives: its label, dotted package and directory."""

    label: str
    package: str
    path: Path

    @classmethod
    def of(cls, config: AppConfig) -> ServiceSource:
        return cls(label=config.label, package=config.name, path=Path(config.path))

    def module_of(self, file: Path) -> tuple[str, bool]:
        """Dotted module name of ``file`` and whether it is a package ``__init__``."""
        parts = [self.package, *file.relative_to(self.path).with_suffix("").parts]
        if parts[-1] == "__init__":
            return ".".join(parts[:-1]), True
        return ".".join(parts), False

    def display(self, file: Path) -> str:
        """``file`` relative to the directory holding the top-level package."""
        root = self.path.parents[self.package.count(".")]
        try:
            return str(file.relative_to(root))
        except ValueError:
            return str(file)


def imported_modules(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, dotted target) of every import; ``from m import n`` yields ``m.n``."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                if node.level - 1 >= len(parts):
                    continue  # beyond the top-level package: Python rejects it too
                kept = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*kept, base] if base else kept)
            for alias in node.names:
                yield node.lineno, base if alias.name == "*" else f"{base}.{alias.name}"


def owner_of(target: str, sources: Sequence[ServiceSource]) -> ServiceSource | None:
    """The service whose package holds the dotted module or name ``target``."""
    owners = [s for s in sources if target == s.package or target.startswith(s.package + ".")]
    return max(owners, key=lambda s: len(s.package), default=None)


def _is_api(target: str, owner: ServiceSource) -> bool:
    api = f"{owner.package}.api"
    return target == api or target.startswith(api + ".")


def python_files(path: Path) -> list[Path]:
    """Every Python file below ``path``, in a stable order."""
    return sorted(file for file in path.rglob("*.py") if "__pycache__" not in file.parts)


def parse_source(file: Path) -> ast.Module | None:
    """The syntax tree of ``file``; None when it does not parse (Python itself
    reports that when the module is imported)."""
    try:
        return ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    except (SyntaxError, UnicodeDecodeError):
        return None


def _import_errors(source: ServiceSource, sources: Sequence[ServiceSource]) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for file in python_files(source.path):
        tree = parse_source(file)
        if tree is None:
            continue
        module, is_package = source.module_of(file)
        for line, target in sorted(imported_modules(tree, module, is_package)):
            owner = owner_of(target, sources)
            if owner is None or owner.label == source.label or _is_api(target, owner):
                continue
            errors.append(
                Error(
                    f"{source.display(file)}:{line}: service '{source.label}' imports "
                    f"{target}, which belongs to service '{owner.label}'; only "
                    f"{owner.package}.api may be imported from another service.",
                    hint=(
                        f"Import {owner.package}.api instead and make its calls with an RPC "
                        f"client: service '{owner.label}' may run in another process with "
                        "another database. Code both services need belongs in the kit."
                    ),
                    id="ucloud.E003",
                )
            )
    return errors


@register(TAG)
def check_service_imports(
    app_configs: Sequence[AppConfig] | None = None,
    *,
    sources: Sequence[ServiceSource] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """E003: a service imports a module of another service other than its ``api``.

    Scans the source of each service with ``ast`` (nothing is imported), so a
    forbidden import is found even in code no test runs.
    """
    every = [ServiceSource.of(s) for s in registry.services().values()]
    if sources is None:
        checked = [ServiceSource.of(s) for s in selected_services(app_configs)]
    else:
        every, checked = list(sources), list(sources)
    return [error for source in checked for error in _import_errors(source, every)]
