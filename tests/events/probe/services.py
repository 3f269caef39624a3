"""What the probe's processors do, and the files that steer them.

Every execution is appended to ``PROBE_DIR/executions.log`` before anything
else, so the tests see executions that never committed::

    effects_apply(processor="one", events=[event])
    sequence_apply(event=event)          # probe.sequence: slow, failing, ordered
    nap(3.0, "first")                    # PROBE_DIR/first.started, then first.done
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings

from tests.events.probe.models import Applied, Effect
from tests.events.probe.switches import CURED, EXECUTIONS, HOLD, sequence_number
from ucloud.events.streams import Event

# A held event gives up eventually, so that a forgotten gate cannot hang a run.
HOLD_LIMIT = 120.0


class Poisoned(RuntimeError):
    """Raised for a poison event until the probe is cured."""


def probe_dir() -> Path:
    # Not in the settings mypy reads (tests.settings): the probe is test-only.
    return Path(getattr(settings, "PROBE_DIR", ""))


def execution_record(*, processor: str, event: Event, number: int | None = None) -> None:
    """Append one line; O_APPEND keeps concurrent writers' lines whole."""
    line = f"{processor} {event.event_id} {event.key if number is None else number} {os.getpid()}\n"
    fd = os.open(probe_dir() / EXECUTIONS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def hold_wait() -> None:
    gate = probe_dir() / HOLD
    give_up = time.monotonic() + HOLD_LIMIT
    while gate.exists():
        if time.monotonic() > give_up:
            raise TimeoutError(f"{gate} was never removed")
        time.sleep(0.02)


def effects_apply(*, processor: str, events: Sequence[Event]) -> None:
    """Record each event's execution, then its effect (in the caller's transaction)."""
    for event in events:
        execution_record(processor=processor, event=event)
        if event.payload.get("hold"):
            hold_wait()
        if event.payload.get("poison") and not (probe_dir() / CURED).exists():
            raise Poisoned(f"event #{event.key} is poison")
    Effect.objects.bulk_create(
        [
            Effect(
                processor=processor,
                number=int(event.payload["number"]),
                event_id=event.event_id,
                pid=os.getpid(),
            )
            for event in events
        ]
    )


class Injected(RuntimeError):
    """A failure the sequenced event asked for."""


def sequence_apply(*, event: Event) -> None:
    """Record the execution, sleep, fail the first ``fail_times`` executions,
    then record the application (in the caller's transaction)."""
    key, seq = int(event.payload["key"]), int(event.payload["seq"])
    number = sequence_number(key, seq)
    execution_record(processor="sequence", event=event, number=number)
    time.sleep(int(event.payload["delay_ms"]) / 1000)
    if _executions_of("sequence", number) <= int(event.payload["fail_times"]):
        raise Injected(f"injected failure of {key}/{seq}")
    Applied.objects.create(key=key, seq=seq, pid=os.getpid())


def _executions_of(processor: str, number: int) -> int:
    wanted = f"{processor} "
    suffix = f" {number} "
    count = 0
    with open(probe_dir() / EXECUTIONS) as log:
        for line in log:
            if line.startswith(wanted) and suffix in line:
                count += 1
    return count


def nap(seconds: float, mark: str) -> None:
    """Mark the start, sleep, mark the end: a task that is running when asked."""
    (probe_dir() / f"{mark}.started").touch()
    time.sleep(seconds)
    (probe_dir() / f"{mark}.done").touch()
