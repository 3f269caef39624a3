"""Heartbeats of Celery processes, and a beat that refuses weak secrets.

A worker beats whenever Celery sends its own worker heartbeat (every 2 s,
from the consumer's event loop, while connected to the broker). Beat runs
``Scheduler``, which beats on every tick; as beat runs no system checks, the
scheduler also refuses to start without real secrets (``ucloud.E010``)::

    UCLOUD_HEARTBEAT_FILE=/tmp/ucloud-heartbeat celery -A config beat \\
        --scheduler ucloud.heartbeat.celery:Scheduler --max-interval 30

Imported by the kit's app config, so every worker of the project beats.
"""

from __future__ import annotations

from typing import Any

from celery.beat import PersistentScheduler
from celery.signals import heartbeat_sent

from ucloud.heartbeat import beat
from ucloud.secret_settings import require_real_secrets


@heartbeat_sent.connect
def _worker_heartbeat(sender: Any = None, **kwargs: Any) -> None:
    beat()


class Scheduler(PersistentScheduler):
    """Celery's default scheduler (schedule kept in a file), with a heartbeat."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        require_real_secrets()
        super().__init__(*args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        beat()
        interval: float = super().tick(*args, **kwargs)
        return interval
