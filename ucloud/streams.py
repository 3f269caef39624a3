"""Event streams: declared in the producer's ``api.py``, produced through the
outbox in the producer's transaction.

The event exists if and only if the state change committed; the relay moves
it to every consuming service after commit. The stream belongs to the
service whose module declares it, and its outbox rows go to that service's
database alias::

    files_events = EventStream("files.events", payload=FileEvent, key="file_id")

    with atomic("files"):                   # ucloud.databases.atomic: files' alias
        file = File.objects.create(...)
        files_events.produce({"type": "file_created", "file_id": file.id, ...})
"""

from __future__ import annotations

import datetime
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from django.db import DEFAULT_DB_ALIAS
from rest_framework import serializers

from ucloud import registry
from ucloud.databases import alias_for

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

    def __init__(
        self,
        name: str,
        *,
        payload: type[serializers.Serializer],
        key: str,
        service: str | None = None,
    ) -> None:
        if name in _streams:
            raise ValueError(f"Stream {name!r} is declared twice")
        if key not in payload().fields:
            raise ValueError(f"Key {key!r} is not a field of {payload.__name__}")
        self.name = name
        self.payload = payload
        self.key = key
        # The producer: given, or the service of the module declaring the
        # stream, resolved on first use (services register in ready()).
        self._service = service
        self._module = str(sys._getframe(1).f_globals.get("__name__", ""))
        _streams[name] = self

    @property
    def service(self) -> str | None:
        """The producing service's label; None for a stream declared outside services."""
        if self._service is None:
            try:
                self._service = registry.service_of_module(self._module)
            except LookupError:
                return None
        return self._service

    def database(self) -> str:
        """The alias whose outbox takes this stream's events: the producer's."""
        service = self.service
        return DEFAULT_DB_ALIAS if service is None else alias_for(service)

    def validate(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The payload in JSON form, or ``InvalidEvent``."""
        serializer = self.payload(data=event)
        if not serializer.is_valid():
            raise InvalidEvent(self.name, serializer.errors)
        # Processors get what would have crossed the wire: JSON types only.
        return dict(serializer.to_representation(serializer.validated_data))

    def produce(self, event: Mapping[str, Any], *, using: str | None = None) -> None:
        """Write ``event`` to the outbox in the current transaction of ``using``
        (default: the producer's alias)."""
        self.produce_many([event], using=using)

    def produce_many(
        self, events: Iterable[Mapping[str, Any]], *, using: str | None = None
    ) -> None:
        """Validate every event first, then write them all (or none)."""
        from ucloud import outbox

        outbox.write(self, self.validate_many(list(events)), using=using or self.database())

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
