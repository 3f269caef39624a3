"""Streams: declaration rules, payload validation, the event message form,
and how ``@processor`` subscribes a service."""

from __future__ import annotations

import datetime

import pytest
from rest_framework import serializers

from tests.ucloud.eventing import OrderEvent, order, registries_restored
from ucloud.models import OutboxEvent
from ucloud.processors import groups_of, processor, processors
from ucloud.streams import Event, EventStream, InvalidEvent, stream_named, streams


@pytest.fixture(autouse=True)
def _own_registries():
    with registries_restored():
        yield


@pytest.fixture
def orders() -> EventStream:
    return EventStream("test.orders", payload=OrderEvent, key="order_id")


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


def test_an_event_survives_the_round_trip_through_its_message_form():
    event = Event(
        event_id="0b6f6c1e-5a0c-4a53-9f1e-1f1d1d1d1d1d",
        stream="test.orders",
        key="7",
        payload={"order_id": 7, "amount": "12.50"},
        produced_at=datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
    )
    message = event.as_message()
    assert message["produced_at"] == "2026-01-02T03:04:05+00:00"
    assert Event.from_message(message) == event


def test_an_event_without_production_time_round_trips_too():
    event = Event(event_id="e1", stream="s", key="k", payload={})
    assert Event.from_message(event.as_message()) == event


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
    assert groups_of("files.events") == ["notifications"]
