"""The bench processors: a batched no-op on the bench stream, and a no-op
Celery task for the one-message-per-task baseline.

What the kit does around the no-op (decode, inbox check, inbox insert, one
transaction per batch) is what ``bench/events.py`` measures::

    celery -A config worker -Q ucloud.eventsbench,bench.noop
"""

from __future__ import annotations

from celery import shared_task

from bench.events_app.api import bench_events
from ucloud.events.processors import processor
from ucloud.events.relay import queue_of
from ucloud.events.streams import Event

QUEUE = queue_of("eventsbench")  # the bench service's consumer group
NOOP_QUEUE = "bench.noop"


@processor(bench_events, batched=True)
def sink(events: list[Event]) -> None:
    """Does nothing: the kit's own cost per event is what is measured."""


@shared_task(name="bench.noop")
def noop() -> None:
    """One message per task: the raw Celery baseline."""
