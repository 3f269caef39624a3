"""The two audit stores answer the same: filters, newest first, pages,
pruning. The Elasticsearch one runs against osmem-server (daily indices).
The database store copies large batches on PostgreSQL."""

from __future__ import annotations

import contextlib
import datetime
import uuid

import pytest
from django.db import connection, transaction

from apps.audit import stores
from apps.audit.filters import AuditQuery, parse_token, token
from apps.audit.models import AuditRecord
from apps.audit.stores import DatabaseStore, ElasticsearchStore, index_of
from ucloud.events.copying import COPY_THRESHOLD
from ucloud.search.client import make_client

pytestmark = pytest.mark.django_db

DAY = datetime.datetime(2026, 11, 20, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture(params=["database", "elasticsearch"])
def store(request, settings):
    if request.param == "database":
        return DatabaseStore()
    url = request.getfixturevalue("osmem_url")
    return Refreshing(make_client(url, plain=True, timeout=10))


class Refreshing(ElasticsearchStore):
    """Writes visible at once (Elasticsearch refreshes each second)."""

    def write(self, records):
        super().write(records)
        self.client.indices.refresh(index=self.pattern)


def make(n: int, **fields) -> dict:
    record = {
        "id": str(uuid.UUID(int=n)),
        "time": (DAY + datetime.timedelta(minutes=n)).isoformat(),
        "call": "files.create",
        "username": "alice",
        "role": "USER",
        "service": "",
        "via": "",
        "job_id": f"job-{n}",
        "caused_by": "",
        "status": 200,
        "duration_us": 1500,
        "remote_address": "10.0.0.1",
        "user_agent": "curl/8",
        "request": '{"path":"/a","password":"***"}',
    }
    return {**record, **fields}


def ids(records) -> list[int]:
    return [uuid.UUID(record["id"]).int for record in records]


def test_records_come_back_newest_first_with_their_facts(store):
    store.write([make(1), make(2, username="bob", status=403)])

    records, more = store.query(AuditQuery())

    assert (ids(records), more) == ([2, 1], False)
    newest = records[0]
    assert newest["time"] == DAY + datetime.timedelta(minutes=2)
    assert (newest["username"], newest["status"], newest["duration_ms"]) == ("bob", 403, 1.5)
    assert newest["request"] == {"path": "/a", "password": "***"}


def test_each_filter_must_hold(store):
    store.write(
        [
            make(1),
            make(2, username="bob"),
            make(3, call="accounts.login", status=401),
            make(4, call="files.move", job_id="job-x", caused_by="job-y"),
        ]
    )

    def found(**filters) -> list[int]:
        return sorted(ids(store.query(AuditQuery(**filters))[0]))

    assert found(usernames=["bob"]) == [2]
    assert found(usernames=["alice"], statuses=[200]) == [1, 4]
    assert found(calls=["files.*"]) == [1, 2, 4]
    assert found(calls=["accounts.login", "files.move"]) == [3, 4]
    assert found(statuses=[401, 403]) == [3]
    assert found(job_id="job-x") == [4]
    assert found(caused_by="job-y") == [4]
    since = DAY + datetime.timedelta(minutes=2)
    assert found(since=since, until=since + datetime.timedelta(minutes=2)) == [2, 3]


def test_pages_follow_one_another_without_gaps_or_repeats(store):
    store.write([make(n) for n in range(1, 8)])
    seen: list[int] = []
    after = None
    while True:
        records, more = store.query(AuditQuery(size=3, after=after))
        seen += ids(records)
        if not more:
            break
        last = records[-1]
        after = parse_token(token(last["time"], last["id"]))

    assert seen == [7, 6, 5, 4, 3, 2, 1]


def test_pruning_forgets_what_is_older_than_the_cutoff(store):
    old = make(1, time=(DAY - datetime.timedelta(days=3)).isoformat())
    store.write([old, make(2)])

    pruned = store.prune(before=DAY - datetime.timedelta(days=1))

    assert pruned == 1
    assert ids(store.query(AuditQuery())[0]) == [2]


def test_elasticsearch_keeps_one_index_per_namespace_and_day(settings):
    settings.UCLOUD = {**settings.UCLOUD, "SEARCH_INDEX_PREFIX": "p-"}

    assert index_of(make(1)) == "p-audit-files-2026.11.20"
    assert index_of(make(1, call="HTTP POST /admin/login/")) == "p-audit-http-2026.11.20"


@pytest.fixture
def copies(monkeypatch) -> list[int]:
    """Sizes of the batches the database store wrote with ``COPY``."""
    sizes: list[int] = []
    original = stores.copy_rows

    def counting(alias, model, fields, rows):
        sizes.append(len(rows))
        original(alias, model, fields, rows)

    monkeypatch.setattr(stores, "copy_rows", counting)
    return sizes


def expected_copies(count: int) -> list[int]:
    return [count] if connection.vendor == "postgresql" else []


def test_a_large_batch_is_copied_and_reads_back_as_inserted_rows_do(copies):
    batch = [make(n) for n in range(1, COPY_THRESHOLD + 1)]
    batch[0] = make(1, request="", username="", user_agent="tab\tand\nnewline \\ end")
    batch[1] = make(2, request='{"note":"a \\"quoted\\" line\\nbreak","n":[1,2]}')
    DatabaseStore().write(batch)

    assert copies == expected_copies(COPY_THRESHOLD)
    records, more = DatabaseStore().query(AuditQuery(size=COPY_THRESHOLD))
    assert (len(records), more) == (COPY_THRESHOLD, False)
    by_id = {uuid.UUID(record["id"]).int: record for record in records}
    assert by_id[1]["request"] is None
    assert by_id[1]["user_agent"] == "tab\tand\nnewline \\ end"
    assert by_id[1]["username"] == ""
    assert by_id[2]["request"] == {"note": 'a "quoted" line\nbreak', "n": [1, 2]}
    assert by_id[50]["time"] == DAY + datetime.timedelta(minutes=50)
    fifty = by_id[50]
    assert (fifty["job_id"], fifty["status"], fifty["duration_ms"]) == ("job-50", 200, 1.5)


@pytest.mark.parametrize("in_transaction", [False, True])
def test_a_large_batch_holding_stored_records_stores_each_other_record_once(copies, in_transaction):
    DatabaseStore().write([make(5), make(70)])
    batch = [make(n) for n in range(1, COPY_THRESHOLD + 1)]

    with transaction.atomic() if in_transaction else contextlib.nullcontext():
        DatabaseStore().write(batch)
        stored = AuditRecord.objects.count()  # the transaction is still usable

    assert copies == expected_copies(COPY_THRESHOLD)  # tried, refused in its savepoint
    assert stored == COPY_THRESHOLD
    assert sorted(AuditRecord.objects.values_list("job_id", flat=True)) == sorted(
        f"job-{n}" for n in range(1, COPY_THRESHOLD + 1)
    )
