"""System checks of the kit: the rules that keep services apart (``ucloud.E0xx``).

Each check is a small function registered with Django under the ``ucloud``
tag. Called without arguments it checks the project; its keyword arguments
take explicit inputs instead, which is how the tests provoke each error::

    python manage.py check --tag ucloud
    check_route_collisions(calls=[Shop.create, Shop.add])   # [Error(... ucloud.E006)]

| id | what is wrong |
|---|---|
| E001 | a call is implemented by more than one controller method |
| E002 | a call of an installed service is never implemented |
| E003 | a service imports another service's modules other than its ``api`` |
| E004 | a model relation (FK, one-to-one, many-to-many) crosses services |
| E005 | ``UCLOUD["SERVICES"]`` names a service that is not installed |
| E006 | two calls are bound to the same HTTP method and path |
| E007 | calls sharing a path are implemented by different controllers |
| E008 | a service's code names another service's database alias |
| E009 | a model relation points at a non-service app kept in another database |
| E010 | DEBUG is off and a secret key is weak (``ucloud.secret_settings``) |
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import AppConfig, apps
from django.core.checks import CheckMessage, Error, register
from django.db import models

from ucloud import registry
from ucloud.calls import CallDescription, CallDescriptionContainer, containers
from ucloud.controllers import implementations as current_implementations
from ucloud.databases import KIT_APP, USER_APPS, user_model_app
from ucloud.service import Service
from ucloud.settings import ucloud_settings
from ucloud.topology import parse_services

TAG = "ucloud"

Implementations = Mapping[CallDescription, Sequence[tuple[type, str]]]


def _method_name(impl: tuple[type, str]) -> str:
    controller, method = impl
    return f"{controller.__module__}.{controller.__qualname__}.{method}"


def _join(names: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _container_path(call: CallDescription) -> str:
    container = call.container
    if container is None:
        return call.full_name
    return f"{container.__module__}.{container.__qualname__}.{call.name}"


# ---------------------------------------------------------------- calls


@register(TAG)
def check_duplicate_implementations(
    app_configs: Sequence[AppConfig] | None = None,
    *,
    implementations: Implementations | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """E001: a call implemented by two controller methods."""
    impls = current_implementations() if implementations is None else implementations
    errors: list[CheckMessage] = []
    for call, found in impls.items():
        if len(found) < 2:
            continue
        methods = [_method_name(impl) for impl in found]
        errors.append(
            Error(
                f"Call {call.full_name} is implemented {len(found)} times: {_join(methods)}.",
                hint=(
                    f"Keep exactly one method decorated with @implement({_container_path(call)}) "
                    f"and remove the others; only {methods[0]} would ever be called."
                ),
                id="ucloud.E001",
            )
        )
    return errors


def _service_containers() -> list[type[CallDescriptionContainer]]:
    """Containers declared in a module of a registered service."""
    found = []
    for container in containers().values():
        try:
            registry.service_of_module(container.__module__)
        except LookupError:
            continue
        found.append(container)
    return found


@register(TAG)
def check_unimplemented_calls(
    app_configs: Sequence[AppConfig] | None = None,
    *,
    declared: Iterable[type[CallDescriptionContainer]] | None = None,
    implementations: Implementations | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """E002: a call declared by a service (in ``declared``) that nothing implements."""
    sources = _service_containers() if declared is None else declared
    impls = current_implementations() if implementations is None else implementations
    errors: list[CheckMessage] = []
    for container in sources:
        for call in container.calls():
            if impls.get(call):
                continue
            errors.append(
                Error(
                    f"Call {call.full_name} is declared in "
                    f"{container.__module__}.{container.__qualname__} but no controller "
                    "implements it; it would answer 404 not_implemented.",
                    hint=(
                        "Add a method decorated with "
                        f"@implement({container.__qualname__}.{call.name}) to a Controller in "
                        "the service's rpc module, or remove the call from the contract."
                    ),
                    id="ucloud.E002",
                )
            )
    return errors


def _all_calls() -> list[CallDescription]:
    return [call for container in containers().values() for call in container.calls()]


@register(TAG)
def check_route_collisions(
    app_configs: Sequence[AppConfig] | None = None,
    *,
    calls: Iterable[CallDescription] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """E006: two calls bound to the same HTTP method and path."""
    by_route: dict[tuple[str, str], list[CallDescription]] = defaultdict(list)
    for call in _all_calls() if calls is None else calls:
        by_route[(call.http.method.upper(), call.path)].append(call)
    errors: list[CheckMessage] = []
    for (method, path), bound in by_route.items():
        if len(bound) < 2:
            continue
        names = [call.full_name for call in bound]
        errors.append(
            Error(
                f"{method} /{path} is bound to {len(bound)} calls: {_join(names)}; "
                "a request could reach only one of them.",
                hint=(
                    "Give all but one of them another http binding (a different subpath or "
                    "method), e.g. http=http_update('<operation>')."
                ),
                id="ucloud.E006",
            )
        )
    return errors


@register(TAG)
def check_route_controllers(
    app_configs: Sequence[AppConfig] | None = None,
    *,
    implementations: Implementations | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """E007: calls sharing a path implemented by different controllers.

    One route serves every method of a path through one controller class,
    so ``ucloud.routes`` refuses to build such routes.
    """
    impls = current_implementations() if implementations is None else implementations
    by_path: dict[str, dict[type, list[str]]] = defaultdict(lambda: defaultdict(list))
    for call, found in impls.items():
        if found:
            by_path[call.path][found[0][0]].append(call.full_name)
    errors: list[CheckMessage] = []
    for path, controllers in by_path.items():
        if len(controllers) < 2:
            continue
        served = [
            f"{controller.__qualname__} ({', '.join(names)})"
            for controller, names in controllers.items()
        ]
        errors.append(
            Error(
                f"/{path} is served by {len(controllers)} controllers: {_join(served)}.",
                hint="Implement every call bound to one path in the same Controller class.",
                id="ucloud.E007",
            )
        )
    return errors


# ---------------------------------------------------------------- topology


@register(TAG)
def check_served_services(
    app_configs: Sequence[AppConfig] | None = None,
    *,
    wanted: str | list[str] | tuple[str, ...] | None = None,
    installed: Collection[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """E005: ``UCLOUD["SERVICES"]`` names a service that is not installed.

    ``topology.served_services()`` raises for the same reason at run time.
    Django's URL check builds the routes, which asks the topology, so a full
    ``manage.py check`` stops with that exception first; ``manage.py check
    --tag ucloud`` reports this error instead.
    """
    if wanted is None:
        wanted = ucloud_settings.SERVICES
    known = set(registry.services() if installed is None else installed)
    names = parse_services(wanted) or []
    unknown = [name for name in names if name not in known]
    if not unknown:
        return []
    what = "is not an installed service" if len(unknown) == 1 else "are not installed services"
    return [
        Error(
            f"UCLOUD['SERVICES'] names {_join(unknown)}, which {what}.",
            hint=(
                f"Installed services: {', '.join(sorted(known)) or 'none'}. Fix UCLOUD_SERVICES "
                "(or UCLOUD['SERVICES']), or add the service's app to INSTALLED_APPS."
            ),
            id="ucloud.E005",
        )
    ]


# ---------------------------------------------------------------- imports


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


def _imported_modules(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
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


def _owner(target: str, sources: Sequence[ServiceSource]) -> ServiceSource | None:
    owners = [s for s in sources if target == s.package or target.startswith(s.package + ".")]
    return max(owners, key=lambda s: len(s.package), default=None)


def _is_api(target: str, owner: ServiceSource) -> bool:
    api = f"{owner.package}.api"
    return target == api or target.startswith(api + ".")


def _python_files(path: Path) -> list[Path]:
    return sorted(file for file in path.rglob("*.py") if "__pycache__" not in file.parts)


def _import_errors(source: ServiceSource, sources: Sequence[ServiceSource]) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for file in _python_files(source.path):
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        except (SyntaxError, UnicodeDecodeError):
            continue  # Python itself reports these when the module is imported
        module, is_package = source.module_of(file)
        for line, target in sorted(_imported_modules(tree, module, is_package)):
            owner = _owner(target, sources)
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


def _selected_services(app_configs: Sequence[AppConfig] | None) -> list[Service]:
    services = list(registry.services().values())
    if app_configs is None:
        return services
    chosen = {config.label for config in app_configs}
    return [service for service in services if service.label in chosen]


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
        checked = [ServiceSource.of(s) for s in _selected_services(app_configs)]
    else:
        every, checked = list(sources), list(sources)
    return [error for source in checked for error in _import_errors(source, every)]


# ---------------------------------------------------------------- models


def _related_label(field: models.Field[Any, Any], model: type[models.Model]) -> tuple[str, str]:
    """(app label, display name) of the model ``field`` points to, resolved or not."""
    target = field.remote_field.model if field.remote_field else None
    if isinstance(target, str):
        # A lazy reference the registry has not resolved: "app.Model", "Model" or "self".
        app_label, dot, _ = target.rpartition(".")
        return (app_label if dot else model._meta.app_label), target
    if isinstance(target, type) and issubclass(target, models.Model):
        return target._meta.app_label, target._meta.label
    return model._meta.app_label, str(target)


def _service_relations(
    app_configs: Sequence[AppConfig] | None,
    model_classes: Iterable[type[models.Model]] | None,
    labels: Collection[str],
) -> Iterator[tuple[type[models.Model], models.Field[Any, Any], str, str]]:
    """(model, field, target app label, target) of every relation a service's
    model declares (E004 and E009 judge them)."""
    if model_classes is None:
        chosen = {s.label for s in _selected_services(app_configs)}
        model_classes = [m for m in apps.get_models() if m._meta.app_label in chosen]
    for model in model_classes:
        if model._meta.app_label not in labels:
            continue
        for field in [*model._meta.local_fields, *model._meta.local_many_to_many]:
            if field.is_relation:
                yield (model, field, *_related_label(field, model))


@register(TAG)
def check_cross_service_relations(
    app_configs: Sequence[AppConfig] | None = None,
    *,
    model_classes: Iterable[type[models.Model]] | None = None,
    services: Collection[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """E004: a relation from a model of one service to a model of another.

    Relations to apps that are not services (``django.contrib.auth``'s
    ``Group``, say) are fine; ``AUTH_USER_MODEL`` is not when a service owns it.
    """
    labels = set(registry.services() if services is None else services)
    errors: list[CheckMessage] = []
    for model, field, target_label, target in _service_relations(
        app_configs, model_classes, labels
    ):
        own = model._meta.app_label
        if target_label != own and target_label in labels:
            errors.append(
                Error(
                    f"{model._meta.label}.{field.name} is a {type(field).__name__} to "
                    f"{target}, a model of service '{target_label}'; services must not "
                    "share tables, they may run with separate databases.",
                    hint=(
                        "Store the other side's key (e.g. a username or id) in a plain field "
                        f"and read the object through the api of service '{target_label}' with "
                        "an RPC client."
                    ),
                    id="ucloud.E004",
                )
            )
    return errors


# ---------------------------------------------------------------- databases

# Calls whose first positional argument is a database alias (or a service
# label, which is the same name): ``.using("x")``, ``.db_manager("x")``,
# ``transaction.atomic("x")``, ``ucloud.databases.atomic("x")`` and
# ``alias_for("x")``.
_ALIAS_FIRST = {"using", "db_manager", "atomic", "alias_for"}


def _literal(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _callee_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else None


def _named_aliases(tree: ast.AST) -> Iterator[tuple[int, str, str]]:
    """(line, alias, how it is named) of every literal database alias in ``tree``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                alias = _literal(keyword.value)
                if keyword.arg == "using" and alias is not None:
                    yield node.lineno, alias, f'using="{alias}"'
            name = _callee_name(node.func)
            first = _literal(node.args[0]) if node.args else None
            if name in _ALIAS_FIRST and first is not None:
                prefix = "." if name in ("using", "db_manager") else ""
                yield node.lineno, first, f'{prefix}{name}("{first}")'
        elif isinstance(node, ast.Subscript) and _callee_name(node.value) == "connections":
            alias = _literal(node.slice)
            if alias is not None:
                yield node.lineno, alias, f'connections["{alias}"]'


def _alias_errors(source: ServiceSource, labels: Collection[str]) -> list[CheckMessage]:
    others = set(labels) - {source.label}
    errors: list[CheckMessage] = []
    for file in _python_files(source.path):
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for line, alias, how in sorted(_named_aliases(tree)):
            if alias not in others:
                continue
            errors.append(
                Error(
                    f"{source.display(file)}:{line}: service '{source.label}' names the "
                    f"database of service '{alias}' ({how}); each service reads and writes "
                    "only its own database.",
                    hint=(
                        f"Ask service '{alias}' through its api with an RPC client (or "
                        "consume its events). For the own database use "
                        f"ucloud.databases.atomic('{source.label}') or "
                        f"alias_for('{source.label}')."
                    ),
                    id="ucloud.E008",
                )
            )
    return errors


@register(TAG)
def check_service_databases(
    app_configs: Sequence[AppConfig] | None = None,
    *,
    sources: Sequence[ServiceSource] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """E008: a service's code names another service's database alias.

    Like E003 it scans the source with ``ast``; it finds literal aliases in
    ``using=``, ``.using()``, ``.db_manager()``, ``atomic()``, ``alias_for()``
    and ``connections[...]``. Naming the service's own alias is fine.
    """
    labels = list(registry.services())
    if sources is None:
        checked = [ServiceSource.of(s) for s in _selected_services(app_configs)]
    else:
        checked, labels = list(sources), [source.label for source in sources]
    return [error for source in checked for error in _alias_errors(source, labels)]


def _home_of(app_label: str, user_app: str) -> str:
    return user_app if app_label in USER_APPS else app_label


@register(TAG)
def check_cross_database_relations(
    app_configs: Sequence[AppConfig] | None = None,
    *,
    model_classes: Iterable[type[models.Model]] | None = None,
    services: Collection[str] | None = None,
    user_app: str | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """E009: a relation from a service's model to a model of an app that is
    not a service but lives in another database.

    Django's auth, contenttypes, admin and sessions live with the service
    owning ``AUTH_USER_MODEL`` (``user_app``); other apps, on ``default``.
    Relations between services are E004; the kit's tables are everywhere.
    """
    labels = set(registry.services() if services is None else services)
    owner = user_model_app() if user_app is None else user_app
    errors: list[CheckMessage] = []
    for model, field, target_label, target in _service_relations(
        app_configs, model_classes, labels
    ):
        own = model._meta.app_label
        home = _home_of(target_label, owner)
        if target_label not in labels and target_label != KIT_APP and home != own:
            where = f"service '{home}'" if home in labels else "the default database"
            errors.append(
                Error(
                    f"{model._meta.label}.{field.name} is a {type(field).__name__} to "
                    f"{target}, whose table lives with {where}, not in the database of "
                    f"service '{own}'; the relation breaks once '{own}' has its own database.",
                    hint=(
                        "Store the key of the other row in a plain field (e.g. a group name "
                        "or id) and resolve it where that data lives, through an api call."
                    ),
                    id="ucloud.E009",
                )
            )
    return errors
