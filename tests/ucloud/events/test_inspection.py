"""Seeing and steering the streams: ``ucloud_streams`` (lag per group),
``/status`` (the groups served here), ``ucloud_replay --group`` (one group
reads again from a time, the others are untouched)."""

from __future__ import annotations

import datetime
import io
import json
from collections.abc import Iterator

import pytest
import redis
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client

from tests.ucloud.events.eventing import OrderEvent, order, subscribe
from tests.ucloud.events.streaming import events_on, forget, unique
from ucloud.events.consumer import GroupConsumer
from ucloud.events.streams import Event, EventStream

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def names(redis_url) -> Iterator[tuple[str, str, str]]:
    """A stream and two groups nobody else uses."""
    found = (unique("test.orders"), unique("g1").replace(".", "_"), unique("g2").replace(".", "_"))
    yield found
    forget(redis_url, *found)


def streams_table() -> list[dict]:
    out = io.StringIO()
    call_command("ucloud_streams", "--json", stdout=out)
    return json.loads(out.getvalue())


def step(consumer: GroupConsumer, times: int = 30) -> None:
    for _ in range(times):
        consumer.step()


def test_streams_shows_pending_and_lag_per_group_and_status_the_served_ones(names, redis_url):
    stream_name, first, second = names
    orders = EventStream(stream_name, payload=OrderEvent, key="order_id")
    subscribe(orders, lambda event: None, group=first)
    subscribe(orders, lambda event: None, group=second)
    with events_on(redis_url, STREAM_BLOCK=0.01):
        client = redis.Redis.from_url(redis_url)
        reader = GroupConsumer(first, client=client, name="c1")
        step(reader, 1)  # creates the group
        step(GroupConsumer(second, client=client, name="c2"), 1)  # and then stops reading
        with transaction.atomic():
            orders.produce_many([order(n) for n in range(10)])
        step(reader)  # the first group catches up

        rows = {row["group"]: row for row in streams_table() if row["stream"] == stream_name}
        assert rows[first]["lag"] == rows[first]["pending"] == 0
        assert rows[second]["lag"] == 10  # nobody of the second group read since
        assert rows[second]["oldest_age_s"] is not None

        table = io.StringIO()
        call_command("ucloud_streams", stdout=table)
        line = next(row for row in table.getvalue().splitlines() if second in row)
        assert stream_name in line
        assert " 10 " in f" {line} "


def test_status_shows_the_lag_of_the_groups_this_process_serves(names, redis_url):
    stream_name, stranger, _ = names
    orders = EventStream(stream_name, payload=OrderEvent, key="order_id")
    subscribe(orders, lambda event: None, group="notifications")  # served here
    subscribe(orders, lambda event: None, group=stranger)  # not a service of this process
    with events_on(redis_url):
        with transaction.atomic():
            orders.produce_many([order(n) for n in range(4)])
        response = Client().get("/status")
    events = response.json()["dependencies"]["events"]
    assert response.status_code == 200  # lag is no failure
    assert events["ok"] is True
    assert events["groups"]["notifications"][stream_name]["lag"] == 4
    assert stranger not in events["groups"]


def test_status_is_503_when_the_events_redis_is_down(closed_port):
    with events_on(f"redis://127.0.0.1:{closed_port}/0"):
        response = Client().get("/status")
    assert response.status_code == 503
    assert response.json()["dependencies"]["events"] == {"ok": False, "error": "ConnectionError"}


def test_a_group_replayed_from_a_time_reads_again_in_order_and_the_others_do_not(names, redis_url):
    stream_name, first, second = names
    orders = EventStream(stream_name, payload=OrderEvent, key="order_id")
    seen: dict[str, list[tuple[str, str]]] = {first: [], second: []}

    def recorder(group: str):
        def record(event: Event) -> None:
            seen[group].append((event.key, event.payload["note"]))

        return record

    subscribe(orders, recorder(first), group=first)
    subscribe(orders, recorder(second), group=second)
    with events_on(redis_url, STREAM_BLOCK=0.01):
        client = redis.Redis.from_url(redis_url)
        consumers = [GroupConsumer(g, client=client, name=f"c-{g}") for g in (first, second)]
        for consumer in consumers:
            step(consumer, 1)
        since = datetime.datetime.now(datetime.UTC)
        with transaction.atomic():
            orders.produce_many([order(1, note="a"), order(1, note="b"), order(2, note="c")])
        for consumer in consumers:
            step(consumer)
        assert sorted(seen[first]) == sorted(seen[second]) == [("1", "a"), ("1", "b"), ("2", "c")]

        # The first group forgets what it handled (its inbox is pruned, say)
        # and reads the window again; the second group is not touched.
        from ucloud.models import InboxEntry

        InboxEntry.objects.filter(consumer__startswith=f"{first}:").delete()
        out = io.StringIO()
        call_command("ucloud_replay", "--group", first, "--since", since.isoformat(), stdout=out)
        assert f"Group {first} reads {stream_name} again" in out.getvalue()
        for consumer in consumers:
            step(consumer)
    again = seen[first][3:]
    assert sorted(again) == [("1", "a"), ("1", "b"), ("2", "c")]
    assert [e for e in again if e[0] == "1"] == [("1", "a"), ("1", "b")]  # in order
    assert len(seen[second]) == 3  # the other group read nothing again


def test_replay_of_a_group_refuses_what_it_cannot_do(names, redis_url):
    with pytest.raises(CommandError, match="needs the events Redis"):
        call_command("ucloud_replay", "--group", "notifications", "--since", "2026-01-01T00:00Z")
    with events_on(redis_url), pytest.raises(CommandError, match="No consumer group"):
        call_command("ucloud_replay", "--group", "nobody", "--since", "2026-01-01T00:00Z")
    with events_on(redis_url), pytest.raises(CommandError, match="outbox replay only"):
        call_command(
            "ucloud_replay", "--group", "notifications", "--since", "2026-01-01T00:00Z",
            "--until", "2026-01-02T00:00Z",
        )  # fmt: skip


def test_streams_without_redis_says_events_are_eager():
    with pytest.raises(CommandError, match="eagerly"):
        call_command("ucloud_streams")
