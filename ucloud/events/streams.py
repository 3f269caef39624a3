"""Event streams: declared in the producer's ``api.py``, produced through the
outbox in the producer's transaction.

The event exists if and only if the state change committed; the relay
appends it to the stream's Redis partition for its key after commit. The
stream belongs to the service whose module declares it, and its outbox rows
go to that service's database alias::

    files_events = EventStream("files.events", payload=FileEvent, key="file_id")

    with atomic("files"):                   # ucloud.databases.atomic: files' alias
        file = File.objects.create(...)
        files_events.produce({"type": "file_created", "file_id": file.id, ...})
"""

from __future__ import annotations

import datetime
import hashlib
import sys
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from django.db import DEFAULT_DB_ALIAS
from rest_framework import serializers

from ucloud import registry
from ucloud.databases import alias_for
from ucloud.events import outbox
from ucloud.events.payloads import PayloadPlan, compile_plan

_streams: dict[str, EventStream] = {}


class InvalidEvent(ValueError):
    """A payload failed its stream's serializer: a producer (or contract) bug."""

    def __init__(self, stream: str, errors: Any) -> None:
        self.errors = errors
        super().__init__(f"Invalid event for stream {stream}: {errors}")


@dataclass(frozen=True)
class Event:
    """One event as a processor receives it: the payload validated by the
    stream's serializer, in JSON form (fields the serializer does not know
    are dropped, so producers may add fields before consumers know them)."""

    event_id: str
    stream: str
    key: str
    payload: dict[str, Any]
    produced_at: datetime.datetime | None = None
    # The producer's W3C traceparent ("" when not traced), for observers.
    trace: str = ""


def partition_of(key: str, partitions: int) -> int:
    """The partition of a key: stable across processes and Python versions
    (``hash()`` is salted per process, CRC-32 is not)."""
    return zlib.crc32(key.encode()) % partitions


# The producer of the kit's own streams, and the package that declares them.
EVERY_UNIT = "every unit"
KIT_PACKAGE = "ucloud"


class EventStream:
    """A named stream of events with a payload serializer and a key field.

    ``ordered`` (default): a consumer group processes the events of one key
    in the order they were produced, and a failing event holds back the
    later events of its partition until it succeeds or is dead-lettered.
    ``ordered=False`` lets the others pass it.
    """

    def __init__(
        self,
        name: str,
        *,
        payload: type[serializers.Serializer],
        key: str,
        service: str | None = None,
        ordered: bool = True,
    ) -> None:
        if name in _streams:
            raise ValueError(f"Stream {name!r} is declared twice")
        if key not in payload().fields:
            raise ValueError(f"Key {key!r} is not a field of {payload.__name__}")
        self.name = name
        self.payload = payload
        self.key = key
        self.ordered = ordered
        self._round_trip_checked = False
        self._contract: str | None = None
        self._plan: PayloadPlan | bool | None = False  # False: not compiled yet
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

    @property
    def produced_by(self) -> str | None:
        """Who produces the stream, as the catalog and the picture name it:
        its service; ``EVERY_UNIT`` for a stream the kit declares itself
        (``ucloud.audit``: every unit writes the records of the calls it
        serves); None for a stream declared outside services (tests)."""
        service = self.service
        if service is None and self._module.split(".")[0] == KIT_PACKAGE:
            return EVERY_UNIT
        return service

    def database(self) -> str:
        """The alias whose outbox takes this stream's events: the producer's."""
        service = self.service
        return DEFAULT_DB_ALIAS if service is None else alias_for(service)

    def validate(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The payload in JSON form, or ``InvalidEvent``."""
        serializer = self.payload(data=event)
        if not serializer.is_valid():
            raise InvalidEvent(self.name, serializer.errors)
        # What crosses the wire: JSON types only.
        return dict(serializer.to_representation(serializer.validated_data))

    def produce(self, event: Mapping[str, Any], *, using: str | None = None) -> None:
        """Write ``event`` to the outbox in the current transaction of ``using``
        (default: the producer's alias)."""
        self.produce_many([event], using=using)

    def produce_many(
        self, events: Iterable[Mapping[str, Any]], *, using: str | None = None
    ) -> None:
        """Validate every event first, then write them all (or none)."""
        payloads = self.validate_many(list(events))
        if payloads and not self._round_trip_checked:
            self._check_round_trip(payloads[0])
        outbox.write(self.name, self.key, self.contract, payloads, using=using or self.database())

    def _check_round_trip(self, payload: dict[str, Any]) -> None:
        """Consumers validate what they receive with the same serializer: a
        serializer that refuses its own output (a ``default=""`` without
        ``allow_blank``, say) would dead-letter every event. Checked on the
        first event this process produces, where the producer sees it."""
        serializer = self.payload(data=payload)
        if not serializer.is_valid():
            raise InvalidEvent(
                self.name,
                f"the payload serializer refuses its own output {payload}: {serializer.errors}",
            )
        self._round_trip_checked = True

    def validate_many(self, events: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Every payload in JSON form, or ``InvalidEvent`` for the first bad one."""
        fast = self._fast_plan()
        if fast is not None:
            found = fast.validate_many(events)
            if found is not None:
                return found
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

    def _fast_plan(self) -> PayloadPlan | None:
        if self._plan is False:
            self._plan = compile_plan(self.payload)
        return self._plan if isinstance(self._plan, PayloadPlan) else None

    @property
    def contract(self) -> str:
        """A fingerprint of the payload serializer: its fields with their
        types and options (DRF's ``repr``), hashed. A consumer whose own
        serializer has the same fingerprint as the producer's needs not
        validate again what the producer validated and represented."""
        if self._contract is None:
            described = repr(self.payload())
            self._contract = hashlib.sha256(described.encode()).hexdigest()[:16]
        return self._contract

    def received(
        self, payloads: list[Any], *, contracts: list[str] | None = None
    ) -> list[dict[str, Any] | InvalidEvent]:
        """Consumer side: each payload validated, in JSON form, or the
        ``InvalidEvent`` saying why it is refused. Payloads a producer
        validated against this very contract (``contracts``) pass as they are."""
        if not payloads:
            return []
        trusted = contracts is not None and all(c == self.contract for c in contracts)
        if trusted and all(isinstance(payload, dict) for payload in payloads):
            return list(payloads)
        serializer = self.payload(data=payloads, many=True)
        if serializer.is_valid():
            represented = cast("list[Mapping[str, Any]]", serializer.data)
            return [dict(item) for item in represented]
        # Some failed: tell which, event by event.
        found: list[dict[str, Any] | InvalidEvent] = []
        for payload in payloads:
            try:
                found.append(self.validate(payload))
            except InvalidEvent as invalid:
                found.append(invalid)
        return found

    def __repr__(self) -> str:
        return f"<EventStream {self.name}>"


def streams() -> dict[str, EventStream]:
    return dict(_streams)


def stream_named(name: str) -> EventStream:
    try:
        return _streams[name]
    except KeyError:
        raise LookupError(f"No stream named {name!r} is declared") from None
