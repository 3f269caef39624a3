"""Streams: declaration rules, payload validation on both sides, partitions,
and how ``@processor`` subscribes a service."""

from __future__ import annotations

import zlib

import pytest
from rest_framework import serializers

from tests.ucloud.events.eventing import OrderEvent, order
from ucloud.events.processors import groups_of, processor, processors
from ucloud.events.streams import (
    EVERY_UNIT,
    Event,
    EventStream,
    InvalidEvent,
    partition_of,
    stream_named,
    streams,
)
from ucloud.models import OutboxEvent


def test_a_stream_is_found_by_name(orders):
    assert stream_named("test.orders") is orders
    assert streams()["test.orders"] is orders


def test_an_undeclared_stream_name_is_a_lookup_error():
    with pytest.raises(LookupError, match=r"test\.nothing"):
        stream_named("test.nothing")


def test_a_stream_name_cannot_be_declared_twice(orders):
    with pytest.raises(ValueError, match="declared twice"):
        EventStream("test.orders", payload=OrderEvent, key="order_id")
    assert stream_named("test.orders") is orders


def test_the_key_must_be_a_field_of_the_payload():
    with pytest.raises(ValueError, match="customer_id"):
        EventStream("test.orders", payload=OrderEvent, key="customer_id")
    assert "test.orders" not in streams()


def test_validate_returns_the_payload_in_json_form_with_defaults(orders):
    assert orders.validate(order(7)) == {
        "order_id": 7,
        "amount": "12.50",
        "placed_at": "2026-01-02T03:04:05Z",
        "note": "",
    }


def test_an_invalid_payload_raises_invalid_event_with_field_errors(orders):
    with pytest.raises(InvalidEvent) as caught:
        orders.validate({"order_id": "seven", "placed_at": "2026-01-02T03:04:05Z"})
    assert set(caught.value.errors) == {"order_id", "amount"}
    assert "test.orders" in str(caught.value)


@pytest.mark.django_db
def test_an_invalid_event_writes_nothing_to_the_outbox(orders):
    with pytest.raises(InvalidEvent):
        orders.produce({"order_id": 1})
    assert OutboxEvent.objects.count() == 0


@pytest.mark.django_db
def test_produce_many_validates_every_event_before_writing_any(orders):
    with pytest.raises(InvalidEvent) as caught:
        orders.produce_many([order(1), order(2, amount="lots")])
    assert list(caught.value.errors) == ["amount"]
    assert OutboxEvent.objects.count() == 0


@pytest.mark.django_db
def test_the_outbox_row_holds_the_json_payload_and_the_key_as_text(orders):
    orders.produce(order(42, note="gift"))
    row = OutboxEvent.objects.get()
    assert (row.stream, row.key) == ("test.orders", "42")
    assert row.payload == {
        "order_id": 42,
        "amount": "12.50",
        "placed_at": "2026-01-02T03:04:05Z",
        "note": "gift",
    }


def test_consumers_validate_each_payload_and_say_why_one_is_refused(orders):
    good = orders.validate(order(7))
    checked = orders.received([{**good, "added_later": 1}, {"order_id": "x"}, "not an object"])
    assert checked[0] == good  # the unknown field is dropped
    assert isinstance(checked[1], InvalidEvent)
    assert "order_id" in checked[1].errors
    assert isinstance(checked[2], InvalidEvent)


class Blank(serializers.Serializer):
    id = serializers.IntegerField()
    # Emits "" and refuses it: the bug the first produce reports.
    text = serializers.CharField(required=False, default="")


def test_a_serializer_that_refuses_its_own_output_fails_the_first_produce():
    careless = EventStream("test.careless", payload=Blank, key="id")
    with pytest.raises(InvalidEvent, match="refuses its own output"):
        careless.produce({"id": 1})


def test_the_partition_of_a_key_is_stable_and_within_range():
    assert [partition_of(str(n), 16) for n in (1, 2, 3)] == [
        partition_of(str(n), 16) for n in (1, 2, 3)
    ]
    assert partition_of("42", 16) == zlib.crc32(b"42") % 16
    assert {partition_of(str(n), 4) for n in range(100)} == {0, 1, 2, 3}


class Nothing(serializers.Serializer):
    id = serializers.IntegerField()


def test_processor_subscribes_the_service_owning_the_function(orders):
    def handle(event: Event) -> None:
        """A processor as if written in apps/notifications/processors.py."""

    handle.__module__ = "apps.notifications.processors"
    assert processor(orders, batched=True)(handle) is handle

    found = processors()[f"notifications:apps.notifications.processors.{handle.__qualname__}"]
    assert (found.stream, found.function, found.batched, found.group) == (
        orders,
        handle,
        True,
        "notifications",
    )
    assert groups_of("test.orders") == ["notifications"]


def test_a_processor_outside_any_service_is_refused(orders):
    def handle(event: Event) -> None:
        """Defined in a test module, which belongs to no service."""

    with pytest.raises(LookupError, match="does not belong to a ucloud service"):
        processor(orders)(handle)


def test_a_stream_nobody_consumes_has_no_groups():
    EventStream("test.lonely", payload=Nothing, key="id")
    assert groups_of("test.lonely") == []


def test_notifications_consume_the_files_events():
    assert groups_of("files.events") == ["files", "notifications"]


def test_a_stream_is_produced_by_its_service_or_by_every_unit_when_the_kit_declares_it(orders):
    from apps.files.api import files_events
    from ucloud.audit.stream import audit_records

    assert files_events.produced_by == "files"
    # Every unit writes the records of the calls it serves to the audit stream.
    assert audit_records.produced_by == EVERY_UNIT == "every unit"
    assert orders.produced_by is None  # declared by the tests, outside any service
