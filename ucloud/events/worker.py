"""Stream consumers inside Celery worker processes.

Every process of a Celery worker's prefork pool runs one consumer thread per
consumer group served here (``UCLOUD_SERVICES``), beside the Celery tasks it
runs. A pool of two processes is two consumers of each group, sharing its
partitions; a killed pool process is replaced by Celery, and its partitions
are taken over by the live consumers once its leases expire. The kit's
``ready()`` connects the signals; nothing starts outside a Celery worker::

    celery -A config worker --concurrency 2        # or: manage.py ucloud_worker
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery.signals import worker_process_init, worker_process_shutdown

from ucloud import serving
from ucloud.events import broker, relay
from ucloud.events.consumer import GroupConsumer
from ucloud.events.processors import processors

logger = logging.getLogger("ucloud.events")

_running: list[tuple[GroupConsumer, threading.Thread]] = []


def served_groups() -> list[str]:
    """Consumer groups with processors that this process serves."""
    served = serving.served_services()
    return sorted({p.group for p in processors().values() if p.group in served})


def start_consumers() -> list[GroupConsumer]:
    """One consumer thread per served group; none in eager mode."""
    if relay.events_eager():
        return []
    client = broker.connect()
    started = []
    for group in served_groups():
        consumer = GroupConsumer(group, client=client)
        thread = threading.Thread(target=consumer.run, name=f"ucloud-consumer-{group}", daemon=True)
        thread.start()
        _running.append((consumer, thread))
        started.append(consumer)
        logger.info("Consuming the streams of %s as %s", group, consumer.name)
    return started


def stop_consumers(timeout: float = 10.0) -> None:
    """Let each consumer finish its batch and give its partitions back."""
    for consumer, _ in _running:
        consumer.stop.set()
    for _, thread in _running:
        thread.join(timeout)
    _running.clear()


def _on_pool_process_start(**kwargs: Any) -> None:
    # (broker.connect keys its clients by pid: a forked pool process opens
    # its own connections rather than sharing its parent's sockets.)
    start_consumers()


def _on_pool_process_stop(**kwargs: Any) -> None:
    stop_consumers()


def connect_signals() -> None:
    worker_process_init.connect(_on_pool_process_start, weak=False, dispatch_uid="ucloud.events")
    worker_process_shutdown.connect(_on_pool_process_stop, weak=False, dispatch_uid="ucloud.events")
