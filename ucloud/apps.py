"""The kit's own app config: registers the system checks, Celery tasks and signals."""

from __future__ import annotations

from django.apps import AppConfig


class UcloudConfig(AppConfig):
    name = "ucloud"
    verbose_name = "ucloud kit"

    def ready(self) -> None:
        from ucloud import checks, secret_settings, tasks  # noqa: F401  (registration on import)
        from ucloud.heartbeat import celery  # noqa: F401  (connects the worker heartbeat)
