"""What the echo's processor does: one row per event, in the caller's transaction.

echoes_record(events=events)
"""

from __future__ import annotations

from collections.abc import Sequence

from tests.events.echo.models import Echo
from ucloud.events.streams import Event


def echoes_record(*, events: Sequence[Event]) -> None:
    Echo.objects.bulk_create(
        Echo(number=int(event.payload["number"]), event_id=event.event_id) for event in events
    )
