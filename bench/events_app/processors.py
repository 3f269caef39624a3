"""The bench processors: batched no-ops on the bench streams, and a no-op
Celery task for the one-message-per-task baseline.

What the kit does around the no-op (read, decode, validate, inbox check,
inbox insert, one transaction per batch, acknowledge) is what
``bench/events.py`` measures::

    celery -A config worker -Q bench.noop     # its pool processes consume the streams
"""

from __future__ import annotations

from celery import shared_task

from bench.events_app.api import bench_events, bench_unordered
from ucloud.events.processors import processor
from ucloud.events.streams import Event

NOOP_QUEUE = "bench.noop"


@processor(bench_events, batched=True)
def sink(events: list[Event]) -> None:
    """Does nothing: the kit's own cost per event is what is measured."""


@processor(bench_unordered, batched=True)
def sink_unordered(events: list[Event]) -> None:
    """The same, on the stream without order per key."""


@shared_task(name="bench.noop")
def noop() -> None:
    """One message per task: the raw Celery baseline."""
