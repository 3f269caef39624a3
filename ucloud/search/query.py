"""What a search asks and answers, whatever the backend.

A query is words (each must begin a word of the document's text fields)
and exact filters on keyword fields (each must hold); the answer is a
ranked page of hits, best first, ties by id::

    query = SearchQuery(words=["q3", "budget"], filters={"readers": "alice"}, size=50)
    result = backend.search(spec, query)
    [(hit.id, hit.score) for hit in result.hits], result.more
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ucloud.contracts.errors import ServiceUnavailable

# Hits past this offset are not served (Elasticsearch's default window).
MAX_WINDOW = 10_000


class SearchUnavailable(ServiceUnavailable):
    """The search engine did not answer; writes wait in the stream meanwhile."""

    default_code = "search_unavailable"
    default_why = "The search engine is unavailable; try again shortly."


@dataclass(frozen=True)
class SearchQuery:
    words: list[str]
    filters: Mapping[str, str] = field(default_factory=dict)
    size: int = 50
    offset: int = 0


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    source: dict[str, Any]


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    # Whether hits follow this page (within MAX_WINDOW).
    more: bool


def page_result(hits: list[Hit], query: SearchQuery) -> SearchResult:
    """``hits`` fetched with one extra to tell whether more follow."""
    more = len(hits) > query.size and query.offset + query.size < MAX_WINDOW
    return SearchResult(hits=hits[: query.size], more=more)
