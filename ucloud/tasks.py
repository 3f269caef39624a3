"""Celery tasks of the kit: event delivery, the relay sweep and pruning.

Workers consume ``ucloud.<group>`` queues (one per consuming service),
``ucloud.relay.<service>`` (the sweep and pruning of that service's
database, so that in a split deployment each unit's worker sweeps its own
outbox) and ``ucloud.relay``; ``manage.py ucloud_worker`` starts one with the
right queues for ``UCLOUD_SERVICES``::

    celery -A config worker -Q ucloud.relay,ucloud.notifications,ucloud.relay.notifications
"""

from __future__ import annotations

from typing import Any

from celery import Celery, shared_task

from ucloud import delivery, relay
from ucloud.databases import alias_for
from ucloud.settings import ucloud_settings

RELAY_QUEUE = "ucloud.relay"


def _reschedule(
    processor_id: str, messages: list[dict[str, Any]], attempt: int, delay: float
) -> None:
    group = processor_id.split(":", 1)[0]
    deliver_events.apply_async(
        args=[group, messages],
        kwargs={"processor_id": processor_id, "attempt": attempt},
        queue=relay.queue_of(group),
        countdown=delay,
    )


# acks_late + reject_on_worker_lost: a worker killed mid-batch leaves the
# message unacknowledged, so the broker delivers it again; inboxes make
# the second delivery skip what the first one committed.
@shared_task(name="ucloud.deliver_events", acks_late=True, reject_on_worker_lost=True)
def deliver_events(
    group: str, messages: list[dict[str, Any]], processor_id: str | None = None, attempt: int = 1
) -> int:
    return delivery.deliver(
        group, messages, processor_id=processor_id, attempt=attempt, reschedule=_reschedule
    )


def relay_queue_of(service: str) -> str:
    return f"{RELAY_QUEUE}.{service}"


def services_with_event_tables() -> list[str]:
    """Services that produce or consume events: their databases have an
    outbox to sweep or an inbox to prune."""
    from ucloud.processors import processors
    from ucloud.streams import streams

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
