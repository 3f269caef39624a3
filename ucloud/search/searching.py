"""Searching a service's documents, whatever the backend.

The service owning the document asks; hits come ranked, best first, from
the backend its settings pick (``ucloud.search.backends``)::

    result = search(FileDocument, "q3 budget", filters={"readers": "alice"}, size=50)
    [hit.id for hit in result.hits]         # ids of the documents, as text
"""

from __future__ import annotations

from collections.abc import Mapping

from django_elasticsearch_dsl import Document

from ucloud.search.backends import backend_for
from ucloud.search.documents import spec_of
from ucloud.search.query import MAX_WINDOW, SearchQuery, SearchResult
from ucloud.search.text import query_words


def search(
    document: type[Document],
    text: str,
    *,
    filters: Mapping[str, str] | None = None,
    size: int = 50,
    offset: int = 0,
) -> SearchResult:
    """Documents whose text has every word of ``text`` (as a word's start),
    and whose keyword fields hold each of ``filters``.

    ``ValueError`` for a text without words; ``SearchUnavailable`` when the
    engine does not answer. Nothing past ``MAX_WINDOW`` hits is served.
    """
    words = query_words(text)
    if not words:
        raise ValueError("A search needs at least one word")
    if offset >= MAX_WINDOW:
        return SearchResult(hits=[], more=False)
    spec = spec_of(document)
    query = SearchQuery(
        words=words,
        filters=dict(filters or {}),
        size=min(size, MAX_WINDOW - offset),
        offset=offset,
    )
    return backend_for(spec.service).search(spec, query)
