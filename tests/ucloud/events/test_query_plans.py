"""The event tables' hot queries on PostgreSQL: what they find, and that
they read by index whatever the planner's statistics say.

A burst of events on a fresh table (no ANALYZE yet) is the case that
matters: with the plain queries, each relay batch re-read every row relayed
since the last vacuum, and each inbox lookup every entry of its consumer.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.conftest import require
from ucloud.events import inbox, relay
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
    inbox.record("default", consumer, ids)
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

    def capture(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
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


def test_the_relay_reads_pending_rows_by_plain_index_scan():
    OutboxEvent.objects.bulk_create(
        OutboxEvent(event_id=uuid.uuid4(), stream="files.events", key=str(n), payload={"n": n})
        for n in range(3000)
    )
    # A burst already relayed: dead entries in the pending index.
    relayed = OutboxEvent.objects.order_by("id").values_list("id", flat=True)[:2900]
    OutboxEvent.objects.filter(id__in=list(relayed)).update(relayed_at=timezone.now())
    pending = OutboxEvent.objects.filter(relayed_at__isnull=True).order_by("id")[:500]
    sql, params = pending.query.sql_with_params()

    with transaction.atomic():
        relay._one_relay_at_a_time("default")
        plan = _explain(sql, list(params))
        assert _setting("enable_bitmapscan") == "off"

    assert "Index Scan using ucloud_outbox_pending" in plan, plan
    assert "Bitmap" not in plan, plan
    assert "Sort" not in plan, plan
    assert _setting("enable_bitmapscan") == "on"  # for the relay's transaction only
