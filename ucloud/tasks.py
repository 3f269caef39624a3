"""Celery tasks of the kit: event delivery, the relay sweep and pruning.

Workers consume ``ucloud.<group>`` queues (one per consuming service) and
``ucloud.relay``; ``manage.py ucloud_worker`` starts one with the right
queues for ``UCLOUD_SERVICES``::

    celery -A config worker -Q ucloud.notifications,ucloud.relay
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from ucloud import delivery, relay

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


# The sweep and the pruning cover the databases of the services served by
# the worker that runs them (``relay.swept_aliases``).
@shared_task(name="ucloud.relay_sweep", acks_late=True)
def relay_sweep() -> int:
    from ucloud.settings import ucloud_settings

    return relay.sweep(min_age=float(ucloud_settings.RELAY_SWEEP_MIN_AGE))


@shared_task(name="ucloud.prune_events")
def prune_events() -> tuple[int, int]:
    return relay.prune_swept()
