"""Where the audit service keeps records: a database table, or daily
Elasticsearch indices.

``UCLOUD["AUDIT_STORE"]`` picks one (``"database"``, ``"elasticsearch"``);
unset, Elasticsearch when ``ELASTICSEARCH_URL`` is set, else the database.
Elasticsearch keeps one index per call namespace and day,
``audit-<namespace>-YYYY.MM.DD`` (with the kit's index prefix), so that
retention drops whole indices::

    store = audit_store()
    store.write(records)                       # from the audit stream, a batch
    page, last = store.query(AuditQuery(usernames=["alice"]))
    store.prune(before=now - 180 days)
"""

from __future__ import annotations

import abc
import datetime
import json
import re
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import IntegrityError, router, transaction
from django.db.models import Q, QuerySet
from elasticsearch import Elasticsearch, NotFoundError, helpers

from apps.audit.filters import EPOCH, AuditQuery
from apps.audit.models import AuditRecord
from ucloud.events.copying import copy_rows, worth_copying
from ucloud.search.backends.elasticsearch import engine_errors
from ucloud.search.client import elasticsearch_client
from ucloud.settings import ucloud_settings

# A record as stored and served: the stream's fields, plus its event id.
Record = dict[str, Any]
PRUNE_BATCH = 10_000
MILLISECOND = datetime.timedelta(milliseconds=1)

MAPPING = {
    "properties": {
        "id": {"type": "keyword"},
        "time": {"type": "date"},
        "call": {"type": "keyword"},
        "username": {"type": "keyword"},
        "role": {"type": "keyword"},
        "service": {"type": "keyword"},
        "via": {"type": "keyword"},
        "job_id": {"type": "keyword"},
        "caused_by": {"type": "keyword"},
        "status": {"type": "integer"},
        "duration_us": {"type": "long"},
        "remote_address": {"type": "keyword"},
        "user_agent": {"type": "keyword"},
        # Kept, not searched: the request as JSON text.
        "request": {"type": "keyword", "index": False, "doc_values": False},
    }
}


class AuditStore(abc.ABC):
    @abc.abstractmethod
    def write(self, records: Sequence[Record]) -> None: ...

    @abc.abstractmethod
    def query(self, query: AuditQuery) -> tuple[list[Record], bool]:
        """A page, newest first, and whether more follow."""

    @abc.abstractmethod
    def prune(self, *, before: datetime.datetime) -> int:
        """Forget records older than ``before``; how many (or indices) went."""


def parse_time(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value)


def decoded_request(text: str) -> Any:
    return json.loads(text) if text else None


# The stream's fields the table keeps as they are.
COPIED_FIELDS = (
    "call", "username", "role", "service", "via", "job_id", "caused_by", "status",
    "duration_us", "remote_address", "user_agent",
)  # fmt: skip


# Columns of a ``COPY``: the stream's text goes in as it is (PostgreSQL
# parses the time and the request's JSON), none of it decoded in Python.
COPY_COLUMNS = ("event_id", "time", "request", *COPIED_FIELDS)


def copy_row(record: Record) -> tuple[Any, ...]:
    return (
        record["id"],
        record["time"],
        record["request"] or None,
        *(record[name] for name in COPIED_FIELDS),
    )


class DatabaseStore(AuditStore):
    def write(self, records: Sequence[Record]) -> None:
        alias = router.db_for_write(AuditRecord)
        if worth_copying(alias, len(records)) and self._copied(alias, records):
            return
        rows = [
            AuditRecord(
                event_id=record["id"],
                time=parse_time(record["time"]),
                request=decoded_request(record["request"]),
                **{name: record[name] for name in COPIED_FIELDS},
            )
            for record in records
        ]
        AuditRecord.objects.using(alias).bulk_create(rows, ignore_conflicts=True)

    @staticmethod
    def _copied(alias: str, records: Sequence[Record]) -> bool:
        """A big batch with ``COPY`` (cheaper than the ORM's insert, which
        builds and binds every value in Python): whether it went in. ``COPY``
        knows no ``ON CONFLICT``: a batch holding a record stored before (one
        delivered again) fails in its savepoint, and the caller inserts it
        with ``ON CONFLICT DO NOTHING`` instead."""
        try:
            with transaction.atomic(using=alias):
                copy_rows(alias, AuditRecord, COPY_COLUMNS, [copy_row(r) for r in records])
        except IntegrityError:
            return False
        return True

    def _filtered(self, query: AuditQuery) -> QuerySet[AuditRecord]:
        rows = AuditRecord.objects.all()
        if query.usernames:
            rows = rows.filter(username__in=query.usernames)
        if query.calls:
            calls = Q(call__in=query.exact_calls())
            for prefix in query.call_prefixes():
                calls |= Q(call__startswith=prefix)
            rows = rows.filter(calls)
        if query.statuses:
            rows = rows.filter(status__in=query.statuses)
        if query.job_id is not None:
            rows = rows.filter(job_id=query.job_id)
        if query.caused_by is not None:
            rows = rows.filter(caused_by=query.caused_by)
        if query.since is not None:
            rows = rows.filter(time__gte=query.since)
        if query.until is not None:
            rows = rows.filter(time__lt=query.until)
        if query.after is not None:
            time, event_id = query.after
            rows = rows.filter(Q(time__lt=time) | Q(time=time, event_id__lt=event_id))
        return rows.order_by("-time", "-event_id")

    def query(self, query: AuditQuery) -> tuple[list[Record], bool]:
        found = list(self._filtered(query)[: query.size + 1])
        return [row_record(row) for row in found[: query.size]], len(found) > query.size

    def prune(self, *, before: datetime.datetime) -> int:
        pruned = 0
        while True:
            # In batches: one huge DELETE would hold its locks for long.
            ids = list(
                AuditRecord.objects.filter(time__lt=before).values_list("id", flat=True)[
                    :PRUNE_BATCH
                ]
            )
            if not ids:
                return pruned
            pruned += AuditRecord.objects.filter(id__in=ids).delete()[0]


def row_record(row: AuditRecord) -> Record:
    return {
        "id": str(row.event_id),
        "time": row.time,
        "call": row.call,
        "username": row.username,
        "role": row.role,
        "service": row.service,
        "via": row.via,
        "job_id": row.job_id,
        "caused_by": row.caused_by,
        "status": row.status,
        "duration_ms": row.duration_us / 1000,
        "remote_address": row.remote_address,
        "user_agent": row.user_agent,
        "request": row.request,
    }


_NAMESPACE = re.compile(r"[^a-z0-9_]+")
_DAY = re.compile(r"-(\d{4})\.(\d{2})\.(\d{2})$")


def index_of(record: Record) -> str:
    """``<prefix>audit-<namespace>-YYYY.MM.DD`` of a record (its call's
    namespace; "http" for refusals outside any call)."""
    call = str(record["call"])
    namespace = "http" if call.startswith("HTTP ") else call.split(".", 1)[0]
    namespace = _NAMESPACE.sub("_", namespace.lower()) or "unknown"
    day = parse_time(record["time"]).astimezone(datetime.UTC).strftime("%Y.%m.%d")
    return f"{ucloud_settings.SEARCH_INDEX_PREFIX}audit-{namespace}-{day}"


class ElasticsearchStore(AuditStore):
    def __init__(self, client: Elasticsearch) -> None:
        self.client = client
        self._made: set[str] = set()

    @property
    def pattern(self) -> str:
        return f"{ucloud_settings.SEARCH_INDEX_PREFIX}audit-*"

    def _ensure(self, index: str) -> None:
        if index in self._made:
            return
        if not self.client.indices.exists(index=index):
            try:
                self.client.indices.create(index=index, mappings=MAPPING)
            except Exception:
                if not self.client.indices.exists(index=index):
                    raise  # not another writer's creation: a real failure
        self._made.add(index)

    def write(self, records: Sequence[Record]) -> None:
        actions = []
        with engine_errors():
            for record in records:
                index = index_of(record)
                self._ensure(index)
                actions.append({"_op_type": "index", "_index": index, "_id": record["id"],
                                "_source": record})  # fmt: skip
            helpers.bulk(self.client, actions)

    def query(self, query: AuditQuery) -> tuple[list[Record], bool]:
        filters: list[dict[str, Any]] = []
        for field, values in (("username", query.usernames), ("status", query.statuses)):
            if values:
                filters.append({"terms": {field: values}})
        if query.calls:
            calls: list[dict[str, Any]] = [{"terms": {"call": query.exact_calls()}}]
            calls += [{"prefix": {"call": prefix}} for prefix in query.call_prefixes()]
            filters.append({"bool": {"should": calls, "minimum_should_match": 1}})
        for field in ("job_id", "caused_by"):
            if getattr(query, field) is not None:
                filters.append({"term": {field: getattr(query, field)}})
        window: dict[str, str] = {}
        if query.since is not None:
            window["gte"] = query.since.isoformat()
        if query.until is not None:
            window["lt"] = query.until.isoformat()
        if window:
            filters.append({"range": {"time": window}})
        options: dict[str, Any] = {}
        if query.after is not None:
            time, event_id = query.after
            # Elasticsearch sorts dates by milliseconds.
            options["search_after"] = [(time - EPOCH) // MILLISECOND, event_id]
        with engine_errors():
            try:
                answer = self.client.search(
                    index=self.pattern,
                    query={"bool": {"filter": filters}},
                    sort=[{"time": "desc"}, {"id": "desc"}],
                    size=query.size + 1,
                    **options,
                )
            except NotFoundError:
                return [], False
        hits = [hit["_source"] for hit in answer["hits"]["hits"]]
        return [source_record(hit) for hit in hits[: query.size]], len(hits) > query.size

    def prune(self, *, before: datetime.datetime) -> int:
        cutoff = before.astimezone(datetime.UTC).date()
        dropped = 0
        with engine_errors():
            try:
                names = sorted(self.client.indices.get(index=self.pattern).body)
            except NotFoundError:
                return 0
            for name in names:
                day = _DAY.search(name)
                if day and datetime.date(*map(int, day.groups())) < cutoff:
                    self.client.indices.delete(index=name)
                    self._made.discard(name)
                    dropped += 1
        return dropped


def source_record(source: Record) -> Record:
    record = dict(source)
    record["time"] = parse_time(record["time"])
    record["duration_ms"] = int(record.pop("duration_us", 0)) / 1000
    record["request"] = decoded_request(record.get("request") or "")
    return record


def store_name() -> str:
    chosen = ucloud_settings.AUDIT_STORE
    if chosen is not None:
        return str(chosen)
    return "elasticsearch" if ucloud_settings.ELASTICSEARCH_URL else "database"


_stores: dict[str, AuditStore] = {}


def audit_store() -> AuditStore:
    """The store the settings pick, one per process (it remembers the
    indices it made)."""
    name = store_name()
    found = _stores.get(name)
    if found is None:
        found = _stores[name] = _make(name)
    return found


def _make(name: str) -> AuditStore:
    if name == "elasticsearch":
        client = elasticsearch_client()
        if client is None:
            raise ImproperlyConfigured(
                "AUDIT_STORE is elasticsearch but ELASTICSEARCH_URL is unset"
            )
        return ElasticsearchStore(client)
    if name != "database":
        raise ImproperlyConfigured(f"AUDIT_STORE is {name!r}: use database or elasticsearch")
    return DatabaseStore()


def _forget(*, setting: str, **kwargs: Any) -> None:
    if setting == "UCLOUD":
        _stores.clear()


setting_changed.connect(_forget)
