"""The database backend: documents as rows of ``SearchEntry`` in the
service's own database, matched with a plain filter.

What ``make run`` uses on SQLite, with no server: a query word matches the
start of a word (the words are stored space-separated, so ``" " + word``
is a ``LIKE`` filter), keyword filters compare exact values, and shorter
texts rank first. ``PostgreSQLBackend`` (``postgresql.py``) extends it with
full text search::

    backend = DatabaseBackend("default")
    backend.search(spec, SearchQuery(words=["budg"], filters={"readers": "alice"}))
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, transaction
from django.db.models import BooleanField, Count, F, Q, QuerySet, TextField, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Concat, Length

from ucloud.search.backends.base import (
    IndexInfo,
    SearchBackend,
    initial_index,
    is_index_of,
    new_index_name,
)
from ucloud.search.documents import IndexSpec, Prepared
from ucloud.search.models import SearchAlias, SearchEntry
from ucloud.search.query import Hit, SearchQuery, SearchResult, page_result

# SQLite: a keyword field holds the value (JSON arrays, exact comparison;
# LIKE would ignore case). Other databases use JSON containment.
_HOLDS = (
    "EXISTS (SELECT 1 FROM json_each(ucloud_searchentry.keywords, '$.\"' || %s || '\"') "
    "WHERE json_each.value = %s)"
)


class DatabaseBackend(SearchBackend):
    name = "database"

    def __init__(self, using: str) -> None:
        self.using = using

    def _entries(self) -> QuerySet[SearchEntry]:
        return SearchEntry.objects.using(self.using)

    def current_index(self, spec: IndexSpec) -> str:
        found = (
            SearchAlias.objects.using(self.using)
            .filter(name=spec.alias)
            .values_list("index", flat=True)
            .first()
        )
        return found or initial_index(spec)

    def write(self, spec: IndexSpec, documents: Sequence[Prepared], *, index: str = "") -> None:
        if not documents:
            return
        target = index or self.current_index(spec)
        rows = [
            SearchEntry(
                index=target,
                doc_id=document.id,
                body=document.body,
                words=document.words,
                keywords=document.keywords,
            )
            for document in documents
        ]
        self._entries().bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["index", "doc_id"],
            update_fields=["body", "words", "keywords"],
        )

    def delete(self, spec: IndexSpec, ids: Sequence[str], *, index: str = "") -> None:
        if ids:
            target = index or self.current_index(spec)
            self._entries().filter(index=target, doc_id__in=list(ids)).delete()

    def search(self, spec: IndexSpec, query: SearchQuery) -> SearchResult:
        entries = self._entries().filter(index=self.current_index(spec))
        entries = entries.annotate(spaced=Concat(Value(" "), F("words"), output_field=TextField()))
        for word in query.words:
            entries = entries.filter(spaced__contains=f" {word}")
        for field, value in query.filters.items():
            entries = entries.filter(self._holds(field, value))
        ranked = entries.annotate(length=Length("words")).order_by("length", "doc_id")
        rows = ranked.values_list("doc_id", "body", "length")
        found = rows[query.offset : query.offset + query.size + 1]
        hits = [
            Hit(id=doc_id, score=1.0 / (1 + length), source=body) for doc_id, body, length in found
        ]
        return page_result(hits, query)

    def _holds(self, field: str, value: str) -> Q | RawSQL:
        """The keyword field ``field`` holds ``value`` (exactly, case included)."""
        if connections[self.using].vendor == "postgresql":
            return Q(keywords__contains={field: [value]})
        return RawSQL(_HOLDS, (field, value), output_field=BooleanField())

    def create_index(self, spec: IndexSpec) -> str:
        # Rows make the index; the name is all there is to create.
        return new_index_name(spec)

    def switch_alias(self, spec: IndexSpec, index: str) -> list[str]:
        with transaction.atomic(using=self.using):
            previous = self.current_index(spec)
            SearchAlias.objects.using(self.using).update_or_create(
                name=spec.alias, defaults={"index": index}
            )
        return [previous] if previous != index else []

    def drop_index(self, spec: IndexSpec, index: str) -> None:
        self._entries().filter(index=index).delete()

    def indices(self, spec: IndexSpec) -> list[IndexInfo]:
        current = self.current_index(spec)
        counts: dict[str, int] = {current: 0}
        prefix = f"{spec.alias}-"
        grouped = (
            self._entries()
            .filter(index__startswith=prefix)
            .values("index")
            .annotate(documents=Count("id"))
        )
        for row in grouped:
            if is_index_of(spec, row["index"]):
                counts[row["index"]] = row["documents"]
        return [
            IndexInfo(name, documents, (spec.alias,) if name == current else ())
            for name, documents in sorted(counts.items())
        ]
