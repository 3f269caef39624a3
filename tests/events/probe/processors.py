"""Processors of the probe group: one event at a time, and whole batches.

Both consume ``probe.events``; each has its own inbox (consumer id), so every
event must leave one effect per processor. A third applies ``probe.sequence``
events, recording the order it applied them in. ``probe.nap`` is a plain
Celery task that runs as long as asked (here because Celery discovers tasks
in ``processors`` modules).
"""

from __future__ import annotations

from celery import shared_task

from tests.events.probe import services
from tests.events.probe.api import probe_events, probe_sequence
from ucloud.events.processors import processor
from ucloud.events.streams import Event


@processor(probe_events)
def apply_one(event: Event) -> None:
    services.effects_apply(processor="one", events=[event])


@processor(probe_events, batched=True)
def apply_batch(events: list[Event]) -> None:
    services.effects_apply(processor="batch", events=events)


@processor(probe_sequence)
def apply_in_sequence(event: Event) -> None:
    services.sequence_apply(event=event)


@shared_task(name="probe.nap")
def nap(seconds: float, mark: str) -> None:
    services.nap(seconds, mark)
