"""Checks of the Celery worker settings (W040).

With a broker, Celery's own worker consumer stops the worker when Redis
restarts while a task runs (Celery 5.7); the kit's consumer reconnects
(``ucloud.events.celery_consumer``). A project with settings of its own
may not have selected it::

    check_worker_consumer(broker="redis://r:6379/0", consumer="celery.worker.consumer:Consumer")
    # [Warning(... ucloud.W040)]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from celery.utils.imports import symbol_by_name
from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Warning, register

from ucloud.checks.base import TAG

CELERY_DEFAULT_CONSUMER = "celery.worker.consumer:Consumer"


@register(TAG)
def check_worker_consumer(
    app_configs: Sequence[AppConfig] | None = None,
    *,
    broker: str | None = None,
    consumer: str | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """W040: workers with a broker, but not the kit's consumer."""
    if broker is None:
        broker = getattr(settings, "CELERY_BROKER_URL", None)
    if not broker:
        return []  # tasks run eagerly: there is no worker
    if consumer is None:
        consumer = getattr(settings, "CELERY_WORKER_CONSUMER", CELERY_DEFAULT_CONSUMER)
    # Here, not at the top: Celery's worker modules take a tenth of a second
    # to import, which no process without a broker should pay.
    from ucloud.events.celery_consumer import BrokerRestartSafeConsumer

    try:
        chosen = symbol_by_name(consumer)
    except (ImportError, AttributeError, ValueError):
        chosen = None
    if isinstance(chosen, type) and issubclass(chosen, BrokerRestartSafeConsumer):
        return []
    kit = f"{BrokerRestartSafeConsumer.__module__}:{BrokerRestartSafeConsumer.__qualname__}"
    return [
        Warning(
            f"CELERY_WORKER_CONSUMER is {consumer!r}: with it a worker stops when Redis "
            "restarts while a task runs.",
            hint=f'Set CELERY_WORKER_CONSUMER = "{kit}" (or a subclass of it).',
            id="ucloud.W040",
        )
    ]
