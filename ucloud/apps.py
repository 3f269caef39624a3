"""The kit's own app config: registers the system checks and Celery tasks."""

from __future__ import annotations

from django.apps import AppConfig


class UcloudConfig(AppConfig):
    name = "ucloud"
    verbose_name = "ucloud kit"

    def ready(self) -> None:
        from ucloud import checks, tasks  # noqa: F401  (registration on import)
        from ucloud.locks import checks as lock_checks  # noqa: F401
