"""The PostgreSQL backend: full text search in the service's own database.

Rows of ``SearchEntry`` carry ``to_tsvector('simple', words)`` (GIN
indexed); a query is every word as a prefix (``'q3':* & 'budget':*``),
filters are JSON containment on the keywords (GIN, ``jsonb_path_ops``),
which select the rows first when there are any (a reader's documents: the
cost follows what the reader may see, not the whole index), and hits rank
by ``ts_rank`` plus the trigram similarity (``pg_trgm``) of the words to
the query, so a short path that is mostly the query comes first::

    backend = PostgreSQLBackend("files")
    backend.search(spec, SearchQuery(words=["q3", "budget"], filters={"readers": "alice"}))
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections

from ucloud.search.backends.base import initial_index
from ucloud.search.backends.database import DatabaseBackend
from ucloud.search.documents import IndexSpec, Prepared
from ucloud.search.query import Hit, SearchQuery, SearchResult, page_result

# One statement per batch: the rows as parallel arrays.
UPSERT = """
INSERT INTO ucloud_searchentry (index, doc_id, body, words, keywords, vector)
SELECT %s, doc_id, body::jsonb, words, keywords::jsonb, to_tsvector('simple', words)
FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) AS rows(doc_id, body, words, keywords)
ON CONFLICT (index, doc_id) DO UPDATE SET
    body = EXCLUDED.body, words = EXCLUDED.words,
    keywords = EXCLUDED.keywords, vector = EXCLUDED.vector
"""

# The alias is resolved in the same statement (one round trip per search).
# With filters (a reader, say) the rows they select are read first (GIN on
# the keywords) and the words matched on each: ts_match_vq is @@ in a form
# the planner cannot send to the words' index, whose prefix matches would
# otherwise collect every document of every reader beginning with "q3".
# Without filters the words' index is the way in.
SEARCH_TEMPLATE = """
SELECT doc_id, body, ts_rank(vector, query) + similarity(words, %(text)s) AS score
FROM ucloud_searchentry, to_tsquery('simple', %(tsquery)s) AS query
WHERE index = COALESCE(
        (SELECT a.index FROM ucloud_searchalias a WHERE a.name = %(alias)s), %(initial)s)
    AND {match}
ORDER BY score DESC, doc_id
LIMIT %(limit)s OFFSET %(offset)s
"""
SEARCH = SEARCH_TEMPLATE.format(
    match="keywords @> %(filters)s::jsonb AND ts_match_vq(vector, query)"
)
SEARCH_UNFILTERED = SEARCH_TEMPLATE.format(match="vector @@ query")


def tsquery(words: Sequence[str]) -> str:
    """Every word as a prefix; words are letters and digits only, so quoting
    them is enough (``ucloud.search.text``)."""
    return " & ".join(f"'{word}':*" for word in words)


class PostgreSQLBackend(DatabaseBackend):
    name = "postgresql"

    def write(self, spec: IndexSpec, documents: Sequence[Prepared], *, index: str = "") -> None:
        if not documents:
            return
        target = index or self.current_index(spec)
        encode = DjangoJSONEncoder().encode
        columns = (
            [document.id for document in documents],
            [encode(document.body) for document in documents],
            [document.words for document in documents],
            [json.dumps(document.keywords) for document in documents],
        )
        with connections[self.using].cursor() as cursor:
            cursor.execute(UPSERT, [target, *columns])

    def search(self, spec: IndexSpec, query: SearchQuery) -> SearchResult:
        parameters: dict[str, Any] = {
            "text": " ".join(query.words),
            "tsquery": tsquery(query.words),
            "alias": spec.alias,
            "initial": initial_index(spec),
            "filters": json.dumps({field: [value] for field, value in query.filters.items()}),
            "limit": query.size + 1,
            "offset": query.offset,
        }
        statement = SEARCH if query.filters else SEARCH_UNFILTERED
        with connections[self.using].cursor() as cursor:
            cursor.execute(statement, parameters)
            rows = cursor.fetchall()
        hits = [
            # Django reads jsonb as text (its JSONField decodes it itself).
            Hit(id=doc_id, score=float(score), source=_decoded(body))
            for doc_id, body, score in rows
        ]
        return page_result(hits, query)


def _decoded(body: object) -> dict[str, Any]:
    return json.loads(body) if isinstance(body, (str, bytes)) else dict(body)  # type: ignore[call-overload]
