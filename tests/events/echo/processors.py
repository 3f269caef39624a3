"""The echo group's processor of the probe's numbered events, in batches."""

from __future__ import annotations

from tests.events.echo import services
from tests.events.probe.api import probe_events
from ucloud.events.processors import processor
from ucloud.events.streams import Event


@processor(probe_events, batched=True)
def echo(events: list[Event]) -> None:
    services.echoes_record(events=events)
