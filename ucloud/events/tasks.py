"""Celery tasks of the kit: the outbox sweep and pruning, on a schedule.

Events themselves do not travel as Celery messages: they are read from
Redis Streams by the consumers ``worker`` starts in each worker process.
Celery keeps the periodic work: each service's sweep and pruning go to its
own queue ``ucloud.relay.<service>``, so that in a split deployment each
unit's worker sweeps its own database; ``manage.py ucloud_worker`` consumes
the right queues for ``UCLOUD_SERVICES``::

    celery -A config worker -Q ucloud.relay,ucloud.notifications,ucloud.relay.notifications
"""

from __future__ import annotations

from celery import Celery, shared_task

from ucloud.databases import alias_for
from ucloud.events import relay
from ucloud.events.processors import processors
from ucloud.events.streams import streams
from ucloud.settings import ucloud_settings

RELAY_QUEUE = "ucloud.relay"


def queue_of(service: str) -> str:
    """The queue of a service's own periodic tasks (e.g. notifications.prune_read)."""
    return f"ucloud.{service}"


def relay_queue_of(service: str) -> str:
    return f"{RELAY_QUEUE}.{service}"


def services_with_event_tables() -> list[str]:
    """Services that produce or consume events: their databases have an
    outbox to sweep or an inbox to prune."""
    producers = {stream.service for stream in streams().values()}
    consumers = {processor.group for processor in processors().values()}
    return sorted(name for name in producers | consumers if name)


# Without a service, the sweep and the pruning cover the databases of the
# services served by the worker that runs them (``relay.swept_aliases``).
@shared_task(name="ucloud.relay_sweep", acks_late=True)
def relay_sweep(service: str | None = None) -> int:
    min_age = float(ucloud_settings.RELAY_SWEEP_MIN_AGE)
    if service is None:
        return relay.sweep(min_age=min_age)
    return relay.relay_pending(using=alias_for(service), min_age=min_age)


@shared_task(name="ucloud.prune_events")
def prune_events(service: str | None = None) -> tuple[int, int]:
    if service is None:
        return relay.prune_swept()
    return relay.prune(using=alias_for(service))


def schedule_periodic_tasks(app: Celery) -> None:
    """One sweep and one pruning per service with event tables, each on
    that service's relay queue (called when the Celery app is finalized)."""
    interval = float(ucloud_settings.RELAY_SWEEP_INTERVAL)
    for service in services_with_event_tables():
        queue = relay_queue_of(service)
        app.add_periodic_task(
            interval,
            relay_sweep.s(service).set(queue=queue, expires=interval * 2),
            name=f"ucloud.relay_sweep.{service}",
        )
        app.add_periodic_task(
            3600.0,
            prune_events.s(service).set(queue=queue, expires=3600.0),
            name=f"ucloud.prune_events.{service}",
        )
