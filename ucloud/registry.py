"""The registry of services: which Django apps are ucloud services.

Each ``Service`` registers itself in ``ready()``; the kit asks the registry
which service owns a call::

    registry.services()                 # {"accounts": <Service>, "files": <Service>}
    registry.service_of(FileDescriptions.create)   # "files"
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from django.apps import apps

if TYPE_CHECKING:
    from ucloud.contracts.calls import CallDescription
    from ucloud.service import Service

_services: dict[str, Service] = {}


def register(service: Service) -> None:
    _services[service.label] = service


def services() -> dict[str, Service]:
    return dict(_services)


@cache
def service_of_module(module: str) -> str:
    """The service label owning a Python module (e.g. ``apps.files.api``)."""
    config = apps.get_containing_app_config(module)
    if config is None or config.label not in _services:
        raise LookupError(f"{module} does not belong to a ucloud service")
    return config.label


def service_of(call: CallDescription) -> str:
    container = call.container
    if container is None:
        raise LookupError(f"{call!r} is not declared in a CallDescriptionContainer")
    return service_of_module(container.__module__)
