"""A stream entry as the relay appends it and a consumer reads it back:
one field (the payload's JSON, then the event's facts), the six-field
entries of earlier versions still read, foreign entries never failing the
read."""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

import pytest
import redis

from tests.ucloud.events.streaming import PARTITIONS, events_on, forget, unique
from ucloud.events import broker


@pytest.fixture
def client(redis_url: str):
    with events_on(redis_url):
        found = redis.Redis.from_url(redis_url)
        yield found
        found.close()


@pytest.fixture
def stream(redis_url: str):
    name = unique("test.entries")
    yield name
    forget(redis_url, name)


def _outgoing(stream: str, key: str, **values: str) -> broker.Outgoing:
    return broker.Outgoing(
        stream=stream,
        key=key,
        event_id=str(uuid.uuid4()),
        payload=json.dumps({"key": key, "text": "a|b"}),
        produced_at=values.get("at", "2026-11-30T18:00:00.123456+00:00"),
        contract=values.get("contract", "0f" * 16),
        trace=values.get("trace", "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"),
    )


def _read_back(client: redis.Redis, stream: str, key: str) -> list[tuple[dict, broker.Received]]:
    partition = broker.partition_of(key, PARTITIONS)
    raw: Any = client.xrange(broker.stream_key(stream, partition))
    return [(fields, broker.decode(fields)) for _, fields in raw]


@pytest.mark.parametrize("key", ["42", "a|key|with|bars", "", "ключ 7", "two\nlines"])
def test_what_the_relay_appends_reads_back_the_same(client, stream, key):
    sent = _outgoing(stream, key)
    broker.publish(client, [sent])

    [(fields, received)] = _read_back(client, stream, key)

    assert set(fields) == {b"event"}
    assert received.event_id == sent.event_id
    assert received.key == key
    assert received.payload == {"key": key, "text": "a|b"}
    assert received.produced_at == datetime.datetime(
        2026, 11, 30, 18, 0, 0, 123456, tzinfo=datetime.UTC
    )
    assert (received.contract, received.trace) == (sent.contract, sent.trace)


def test_empty_time_contract_and_trace_read_back_empty(client, stream):
    sent = _outgoing(stream, "7", at="", contract="", trace="")
    broker.publish(client, [sent])

    [(_, received)] = _read_back(client, stream, "7")

    assert (received.produced_at, received.contract, received.trace) == (None, "", "")
    assert received.key == "7"


def test_an_entry_of_the_six_field_format_still_reads(client, stream):
    key = "9"
    event_id = str(uuid.uuid4())
    client.xadd(
        broker.stream_key(stream, broker.partition_of(key, PARTITIONS)),
        {
            "id": event_id,
            "key": key,
            "at": "2026-11-30T18:00:00+00:00",
            "payload": '{"n": 1}',
            "contract": "ab" * 16,
            "trace": "",
        },
    )

    [(_, received)] = _read_back(client, stream, key)

    assert (received.event_id, received.key, received.payload) == (event_id, key, {"n": 1})
    assert received.contract == "ab" * 16
    assert received.produced_at == datetime.datetime(2026, 11, 30, 18, tzinfo=datetime.UTC)


def test_a_foreign_entry_decodes_without_failing_the_read():
    odd = broker.decode({b"event": b"{broken\nnot-the-kit's"})
    assert (odd.event_id, odd.key, odd.produced_at) == ("not-the-kit's", "", None)
    assert odd.payload == "{broken"  # left to validation, which dead-letters it

    bad_time = broker.decode({b"event": b"1\nid|yesterday|||k"})
    assert (bad_time.produced_at, bad_time.key, bad_time.payload) == (None, "k", 1)

    nothing = broker.decode({b"other": b"\xff"})
    assert (nothing.event_id, nothing.payload) == ("", None)
