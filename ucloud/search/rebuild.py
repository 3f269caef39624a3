"""Rebuilding an index without downtime, and how an index stands.

A rebuild fills a new concrete index from the service's database in
batches, while searches and the indexing processor go on using the alias.
Then it catches up on what changed meanwhile: the objects named by the
events produced since it started (read back from the producer's outbox,
through the same processor's ``ids_of``), switches the alias in one step,
catches up once more, and drops the old index::

    report = rebuild(FileDocument, progress=lambda done, total: ...)
    status(FileDocument)         # backend, alias, indices and counts, lag
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Model
from django.utils import timezone
from django_elasticsearch_dsl import Document

from ucloud.databases import alias_for
from ucloud.events import broker
from ucloud.events.lag import group_lags
from ucloud.events.processors import Processor, processors
from ucloud.events.relay import events_eager
from ucloud.events.streams import Event
from ucloud.models import OutboxEvent
from ucloud.search.backends import backend_for, backend_name
from ucloud.search.backends.base import IndexInfo
from ucloud.search.documents import prepare, spec_of
from ucloud.search.indexing import DOCUMENT_ATTRIBUTE, ids_touched, reindex
from ucloud.settings import ucloud_settings

Progress = Callable[[int, int], None]
BATCH = 1000


@dataclass
class RebuildReport:
    alias: str
    index: str
    documents: int = 0
    # Objects re-indexed for events produced while the rebuild ran.
    caught_up: int = 0
    dropped: list[str] = field(default_factory=list)


def indexers_of(document: type[Document]) -> list[Processor]:
    """The processors that index ``document`` (``@indexes(document)``)."""
    return [
        found
        for found in processors().values()
        if getattr(found.function, DOCUMENT_ATTRIBUTE, None) is document
    ]


def _batches(document: type[Document]) -> Iterable[list[Model]]:
    rows = document().get_queryset().order_by("pk")
    last: Any = None
    while True:
        batch = list((rows if last is None else rows.filter(pk__gt=last))[:BATCH])
        if not batch:
            return
        yield batch
        last = batch[-1].pk


def rebuild(document: type[Document], *, progress: Progress | None = None) -> RebuildReport:
    spec = spec_of(document)
    backend = backend_for(spec.service)
    margin = datetime.timedelta(seconds=float(ucloud_settings.SEARCH_REBUILD_MARGIN))
    since = timezone.now() - margin
    index = backend.create_index(spec)
    report = RebuildReport(alias=spec.alias, index=index)
    total = document().get_queryset().count()
    for batch in _batches(document):
        backend.write(spec, prepare(document, batch), index=index)
        report.documents += len(batch)
        if progress is not None:
            progress(report.documents, max(total, report.documents))
    switching = timezone.now() - margin
    report.caught_up += catch_up(document, since=since, index=index)
    report.dropped = backend.switch_alias(spec, index)
    # What the processor wrote into the old index meanwhile, once more into the new one.
    report.caught_up += catch_up(document, since=switching)
    for old in report.dropped:
        backend.drop_index(spec, old)
    backend.refresh(spec)
    return report


def catch_up(document: type[Document], *, since: datetime.datetime, index: str = "") -> int:
    """Re-index the objects named by the events each indexer of ``document``
    follows that were produced since ``since``; how many ids."""
    ids: set[Any] = set()
    for indexer in indexers_of(document):
        stream = indexer.stream
        rows = (
            OutboxEvent.objects.using(stream.database())
            .filter(stream=stream.name, created_at__gte=since)
            .order_by("id")
            .values_list("event_id", "key", "payload", "created_at")
        )
        events = [
            Event(str(event_id), stream.name, key, payload, created_at)
            for event_id, key, payload, created_at in rows.iterator()
        ]
        if events:
            ids.update(str(value) for value in ids_touched(indexer.function, events))
    reindex(document, ids, index=index)
    return len(ids)


@dataclass
class IndexStatus:
    alias: str
    service: str
    backend: str
    current: str
    indices: list[IndexInfo]
    # Events the indexers have not handled yet (None: unknown).
    lag: int | None
    error: str = ""


def status(document: type[Document]) -> IndexStatus:
    spec = spec_of(document)
    backend = backend_for(spec.service)
    try:
        current, indices = backend.current_index(spec), backend.indices(spec)
    except Exception as exc:  # the engine is down: say so, and go on
        return IndexStatus(spec.alias, spec.service, backend.name, "", [], None, str(exc))
    return IndexStatus(
        spec.alias, spec.service, backend_name(spec.service), current, indices, lag_of(document)
    )


def lag_of(document: type[Document]) -> int | None:
    """Events of the indexers' streams their group has not finished: pending
    and undelivered entries with Redis, outbox rows not done in eager mode."""
    indexers = indexers_of(document)
    if not indexers:
        return None
    if events_eager():
        return sum(
            OutboxEvent.objects.using(alias_for(indexer.stream.service or indexer.group))
            .filter(stream=indexer.stream.name, eager_done_at__isnull=True)
            .count()
            for indexer in indexers
        )
    try:
        rows = group_lags(broker.connect(), groups={indexer.group for indexer in indexers})
    except Exception:
        return None
    streams = {indexer.stream.name for indexer in indexers}
    return sum(row.pending + row.lag for row in rows if row.stream in streams)
