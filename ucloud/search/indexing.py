"""Indexing that follows a service's own events, in batches.

A batched processor in the service's ``processors.py`` says which objects
each batch of events touched; the kit reads their current state from the
service's database and writes the documents in one bulk request (objects
that are gone leave the index). So a rolled-back transaction, which
produced no event, indexes nothing; the index follows commits only; and
replaying an event is harmless::

    @processor(files_events, batched=True)
    @indexes(FileDocument)
    def index_files(events: list[Event]) -> set[int]:
        return {event.payload["file_id"] for event in events}

A search engine that does not answer fails no request (requests only write
their outbox row): the processor raises ``TransientError``, which counts no
attempt, and the events wait in the stream until the engine is back
(``ucloud.events.processors.TRANSIENT_ERRORS``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from django_elasticsearch_dsl import Document

from ucloud.events.processors import TransientError
from ucloud.events.streams import Event
from ucloud.search.backends import backend_for
from ucloud.search.documents import prepare, spec_of
from ucloud.search.query import SearchUnavailable

IdsOf = Callable[[list[Event]], Iterable[Any]]
F = TypeVar("F", bound=IdsOf)

# The attribute marking a processor as the indexer of a document.
DOCUMENT_ATTRIBUTE = "ucloud_document"


def reindex(document: type[Document], ids: Iterable[Any], *, index: str = "") -> int:
    """Write the current state of the objects ``ids`` (delete the missing);
    return how many documents were written. ``index``: a concrete index
    instead of the alias (a rebuild's new one)."""
    wanted = {str(value) for value in ids}
    if not wanted:
        return 0
    spec = spec_of(document)
    objects = document().get_queryset().filter(pk__in=list(wanted))
    prepared = prepare(document, objects)
    gone = sorted(wanted - {item.id for item in prepared})
    backend = backend_for(spec.service)
    backend.write(spec, prepared, index=index)
    backend.delete(spec, gone, index=index)
    return len(prepared)


def indexes(document: type[Document]) -> Callable[[F], Callable[[list[Event]], None]]:
    """Make a function naming the ids a batch touched into the indexer of ``document``."""

    def wrap(ids_of: F) -> Callable[[list[Event]], None]:
        @functools.wraps(ids_of)
        def index_events(events: list[Event]) -> None:
            try:
                reindex(document, ids_of(events))
            except SearchUnavailable as exc:
                raise TransientError(str(exc)) from exc

        setattr(index_events, DOCUMENT_ATTRIBUTE, document)
        index_events.ids_of = ids_of  # type: ignore[attr-defined]
        return index_events

    return wrap


def ids_touched(function: Callable[..., Any], events: Sequence[Event]) -> Iterable[Any]:
    """What an ``indexes`` processor would re-index for ``events`` (a rebuild's catch-up)."""
    ids_of: IdsOf = function.ids_of  # type: ignore[attr-defined]
    return ids_of(list(events))
