"""The kit's own app config: registers the system checks, the Celery tasks,
the relay's after-commit hook, the stream consumers of worker processes,
the workers' heartbeat, the observers (metrics, traces) and the audit of
failed admin logins."""

from __future__ import annotations

from django.apps import AppConfig


class UcloudConfig(AppConfig):
    name = "ucloud"
    verbose_name = "ucloud kit"

    def ready(self) -> None:
        from ucloud import audit, checks, secret_settings  # noqa: F401  (registration on import)
        from ucloud.audit import middleware  # noqa: F401  (records failed admin logins)
        from ucloud.events import outbox, relay, tasks, worker  # noqa: F401
        from ucloud.heartbeat import celery  # noqa: F401  (connects the worker heartbeat)
        from ucloud.locks import checks as lock_checks  # noqa: F401
        from ucloud.observe import install

        outbox.set_after_commit(relay.relay_after_commit)
        worker.connect_signals()
        install.install()
        audit.install()
