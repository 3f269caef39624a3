"""Checks of calls and their implementations (E001, E002, E006, E007).

| id | what is wrong |
|---|---|
| E001 | a call is implemented by more than one controller method |
| E002 | a call of an installed service is never implemented |
| E006 | two calls are bound to the same HTTP method and path |
| E007 | calls sharing a path are implemented by different controllers |

Each takes explicit inputs instead of the registries, which is how the tests
provoke the errors::

    check_route_collisions(calls=[Shop.create, Shop.add])   # [Error(... ucloud.E006)]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Error, register

from ucloud import registry
from ucloud.checks.base import TAG, join
from ucloud.contracts.calls import CallDescription, CallDescriptionContainer, containers
from ucloud.rpc.implementations import implementations as current_implementations

Implementations = Mapping[CallDescription, Sequence[tuple[type, str]]]


def _method_name(impl: tuple[type, str]) -> str:
    controller, method = impl
    return f"{controller.__module__}.{controller.__qualname__}.{method}"


def _container_path(call: CallDescription) -> str:
    container = call.container
    if container is None:
        return call.full_name
    return f"{container.__module__}.{container.__qualname__}.{call.name}"


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
                f"Call {call.full_name} is implemented {len(found)} times: {join(methods)}.",
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
                f"{method} /{path} is bound to {len(bound)} calls: {join(names)}; "
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
    so ``ucloud.rpc.routes`` refuses to build such routes.
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
                f"/{path} is served by {len(controllers)} controllers: {join(served)}.",
                hint="Implement every call bound to one path in the same Controller class.",
                id="ucloud.E007",
            )
        )
    return errors
