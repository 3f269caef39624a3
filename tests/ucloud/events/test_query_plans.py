"""The event tables' hot queries on PostgreSQL: what they find, and that
they read by index whatever the planner's statistics say.

A burst of events on a fresh table (no ANALYZE yet) is the case that
matters: with the plain queries, each relay batch re-read every row relayed
since the last vacuum, and each inbox lookup every entry of its consumer.
"""

from __future__ import annotations

import datetime
import json
import uuid

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.conftest import require
from ucloud.events import inbox, pending, relay
from ucloud.models import InboxEntry, OutboxEvent

pytestmark = pytest.mark.django_db(transaction=True)

CONSUMER = "notifications:apps.notifications.processors.notify"


@pytest.fixture(autouse=True)
def _postgresql():
    require(connection.vendor == "postgresql", "PostgreSQL as the default database")


def _explain(sql: str, params: list) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def _entries(consumer: str, count: int) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(count)]
    inbox.record_new("default", consumer, ids)
    return ids


def test_handled_finds_exactly_the_consumers_own_entries():
    mine = _entries(CONSUMER, 150)
    few = _entries(CONSUMER, 3)
    theirs = _entries("search:apps.search.processors.index", 5)
    unknown = [str(uuid.uuid4()) for _ in range(4)]

    found = inbox.handled("default", CONSUMER, [*mine[:10], *few, *theirs, *unknown])

    assert found == {*mine[:10], *few}
    assert inbox.handled("default", CONSUMER, []) == set()
    assert inbox.handled("default", CONSUMER, unknown) == set()
    assert InboxEntry.objects.filter(consumer=CONSUMER).count() == 153


def test_the_inbox_lookup_probes_the_index_on_a_table_never_analyzed():
    _entries(CONSUMER, 3000)
    wanted = [str(uuid.uuid4()) for _ in range(500)]
    captured: list[tuple[str, list]] = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, list(params)))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        inbox.handled("default", CONSUMER, wanted)

    (sql, params), *_ = captured
    plan = _explain(sql, params)
    assert "Index" in plan, plan
    assert "ucloud_inbox_once" in plan, plan
    assert "Seq Scan on ucloud_inboxentry" not in plan, plan
    assert "Bitmap" not in plan, plan


def _setting(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return str(cursor.fetchone()[0])


def _burst(total: int, relayed: int) -> None:
    OutboxEvent.objects.bulk_create(
        OutboxEvent(
            event_id=uuid.uuid4(),
            stream="files.events",
            key=f"k|{n}",
            payload={"n": n, "text": 'é \\ "q"'},
            contract="ab" * 16 if n % 2 else "",
            trace="00-" + "cd" * 16 + "-" + "ef" * 8 + "-01" if n % 3 else "",
        )
        for n in range(total)
    )
    # A burst already relayed: dead entries in the pending index.
    done = OutboxEvent.objects.order_by("id").values_list("id", flat=True)[:relayed]
    OutboxEvent.objects.filter(id__in=list(done)).update(relayed_at=timezone.now())


def test_the_relay_reads_pending_rows_by_plain_index_scan():
    _burst(3000, 2900)
    captured: list[tuple[str, list]] = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, list(params)))
        return execute(sql, params, many, context)

    with transaction.atomic():
        relay._one_relay_at_a_time("default")
        with connection.execute_wrapper(capture):
            taken = pending.take_pending("default", size=500)
        plan = _explain(*captured[-1])
        assert _setting("enable_bitmapscan") == "off"
        transaction.set_rollback(True)

    assert len(taken) == 100
    assert "Scan using ucloud_outbox_pending" in plan, plan
    assert "Bitmap" not in plan, plan
    assert _setting("enable_bitmapscan") == "on"  # for the relay's transaction only


def _taken(take, **options) -> tuple[list, int]:
    """What ``take`` returns and how many rows are then marked; rolled back."""
    with transaction.atomic():
        found = take("default", **options)
        marked = OutboxEvent.objects.filter(relayed_at__isnull=False).count()
        transaction.set_rollback(True)
    return found, marked


def test_the_one_statement_batch_equals_the_orm_batch():
    _burst(700, 100)
    old = timezone.now() - datetime.timedelta(seconds=30)
    OutboxEvent.objects.filter(id__in=OutboxEvent.objects.order_by("-id").values("id")[:50]).update(
        created_at=old
    )

    one, marked = _taken(pending._taken_in_one_statement, size=500, cutoff=None)
    orm, orm_marked = _taken(pending._selected_then_marked, size=500, cutoff=None)

    assert len(one) == 500
    assert (marked, orm_marked) == (600, 600)
    assert [row.event_id for row in one] == [row.event_id for row in orm]
    for mine, theirs in zip(one, orm, strict=True):
        assert json.loads(mine.payload) == json.loads(theirs.payload)
        assert (mine.stream, mine.key, mine.contract, mine.trace) == (
            theirs.stream, theirs.key, theirs.contract, theirs.trace,
        )  # fmt: skip
        parsed = datetime.datetime.fromisoformat(mine.produced_at)
        assert parsed == datetime.datetime.fromisoformat(theirs.produced_at)
    # Only rows older than the cutoff, oldest id first.
    cutoff = timezone.now() - datetime.timedelta(seconds=10)
    aged, _ = _taken(pending._taken_in_one_statement, size=500, cutoff=cutoff)
    assert len(aged) == 50
    assert [row.event_id for row in aged] == [
        str(value)
        for value in OutboxEvent.objects.filter(created_at=old)
        .order_by("id")
        .values_list("event_id", flat=True)
    ]


# The time columns read by range (replay, search catch-up, inbox pruning)
# are BRIN-indexed: next to nothing for each event written or relayed.


def test_the_time_columns_have_brin_indexes_summarised_as_pages_fill():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN (%s, %s)",
            ["ucloud_outbox_created", "ucloud_inbox_handled"],
        )
        found = dict(cursor.fetchall())

    assert set(found) == {"ucloud_outbox_created", "ucloud_inbox_handled"}
    for definition in found.values():
        assert "USING brin" in definition, definition
        assert "autosummarize='on'" in definition, definition


def _plan_without_seqscan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic():
        with connection.cursor() as cursor:
            # A table this small is cheaper to scan whole: the plan says
            # whether the index can serve the query at all.
            cursor.execute("SET LOCAL enable_seqscan = off")
        return _explain(sql, list(params))


def test_reads_by_time_range_can_use_the_brin_indexes():
    _burst(300, 200)
    _entries(CONSUMER, 300)
    since = timezone.now() - datetime.timedelta(minutes=5)

    replayed = OutboxEvent.objects.filter(created_at__gte=since, relayed_at__isnull=False)
    pruned = InboxEntry.objects.filter(handled_at__lt=since)

    assert "ucloud_outbox_created" in _plan_without_seqscan(replayed)
    assert "ucloud_inbox_handled" in _plan_without_seqscan(pruned)
    assert replayed.count() == 200
    assert pruned.count() == 0
