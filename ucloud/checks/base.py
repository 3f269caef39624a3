"""What every module of ``ucloud.checks`` shares: the tag and message helpers.

Checks register under one tag, so ``manage.py check --tag ucloud`` runs them
all; messages list names the way people write them::

    @register(TAG)
    def check_something(app_configs=None, **kwargs): ...
    join(["a", "b", "c"])      # "a, b and c"
"""

from __future__ import annotations

from collections.abc import Sequence

from django.apps import AppConfig

from ucloud import registry
from ucloud.service import Service

TAG = "ucloud"


def join(names: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def selected_services(app_configs: Sequence[AppConfig] | None) -> list[Service]:
    """The registered services, limited to ``app_configs`` when Django passes some."""
    services = list(registry.services().values())
    if app_configs is None:
        return services
    chosen = {config.label for config in app_configs}
    return [service for service in services if service.label in chosen]
