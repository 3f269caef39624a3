"""Event streams: declared in the producer's ``api.py``, produced through the
outbox in the producer's transaction.

The event exists if and only if the state change committed; the relay moves
it to every consuming service after commit::

    files_events = EventStream("files.events", payload=FileEvent, key="file_id")

    with transaction.atomic():
        file = File.objects.create(...)
        files_events.produce({"type": "file_created", "file_id": file.id, ...})
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from rest_framework import serializers

_streams: dict[str, EventStream] = {}


class InvalidEvent(ValueError):
    """A produced payload failed its stream's serializer: a producer bug."""

    def __init__(self, stream: str, errors: Any) -> None:
        self.errors = errors
        super().__init__(f"Invalid event for stream {stream}: {errors}")


@dataclass(frozen=True)
class Event:
    """One event as a processor receives it: payload in JSON form."""

    event_id: str
    stream: str
    key: str
    payload: dict[str, Any]
    produced_at: datetime.datetime | None = None

    def as_message(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "stream": self.stream,
            "key": self.key,
            "payload": self.payload,
            "produced_at": self.produced_at.isoformat() if self.produced_at else None,
        }

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> Event:
        produced = message.get("produced_at")
        return cls(
            event_id=str(message["event_id"]),
            stream=str(message["stream"]),
            key=str(message["key"]),
            payload=dict(message["payload"]),
            produced_at=datetime.datetime.fromisoformat(produced) if produced else None,
        )


class EventStream:
    """A named stream of events with a payload serializer and a key field."""

    def __init__(self, name: str, *, payload: type[serializers.Serializer], key: str) -> None:
        if name in _streams:
            raise ValueError(f"Stream {name!r} is declared twice")
        if key not in payload().fields:
            raise ValueError(f"Key {key!r} is not a field of {payload.__name__}")
        self.name = name
        self.payload = payload
        self.key = key
        _streams[name] = self

    def validate(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The payload in JSON form, or ``InvalidEvent``."""
        serializer = self.payload(data=event)
        if not serializer.is_valid():
            raise InvalidEvent(self.name, serializer.errors)
        # Processors get what would have crossed the wire: JSON types only.
        return dict(serializer.to_representation(serializer.validated_data))

    def produce(self, event: Mapping[str, Any], *, using: str | None = None) -> None:
        """Write ``event`` to the outbox in the current transaction."""
        self.produce_many([event], using=using)

    def produce_many(
        self, events: Iterable[Mapping[str, Any]], *, using: str | None = None
    ) -> None:
        """Validate every event first, then write them all (or none)."""
        from ucloud import outbox

        outbox.write(self, self.validate_many(list(events)), using=using)

    def validate_many(self, events: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Every payload in JSON form, or ``InvalidEvent`` for the first bad one."""
        if len(events) < 2:
            return [self.validate(event) for event in events]
        # One list serializer binds the fields once for the whole batch,
        # several times cheaper per event than a serializer per event.
        serializer = self.payload(data=events, many=True)
        if serializer.is_valid():
            # A list serializer's data is a list, whatever the stubs say.
            represented = cast("list[Mapping[str, Any]]", serializer.data)
            return [dict(item) for item in represented]
        # Report the first bad event exactly as ``produce`` would.
        for event in events:
            self.validate(event)
        raise InvalidEvent(self.name, serializer.errors)

    def __repr__(self) -> str:
        return f"<EventStream {self.name}>"


def streams() -> dict[str, EventStream]:
    return dict(_streams)


def stream_named(name: str) -> EventStream:
    try:
        return _streams[name]
    except KeyError:
        raise LookupError(f"No stream named {name!r} is declared") from None
