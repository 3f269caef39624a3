"""The Elasticsearch backend (also OpenSearch, with plain JSON: ``ucloud.search.client``).

Each document class has an alias (``files``) over one concrete index
(``files-initial``, then ``files-<time>`` after each rebuild). Documents
carry the kit's fields beside the document's own: ``ucloud_words`` (the
words of the text fields, split by the kit, analysed by whitespace) and
``ucloud_id`` (for ties). A query is a ``bool``: each word a ``prefix`` on
the words (all must match), a ``match`` of them all for ranking (BM25), and
a ``term`` filter per keyword filter. The kit builds the request body
itself, so nothing it sends depends on a server's newer options (it never
asks for ``_source.exclude_vectors``, which ``Document.search()`` adds)::

    backend = ElasticsearchBackend(client)
    backend.write(spec, prepared)            # one bulk request
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch, NotFoundError, helpers

from ucloud.search.backends.base import (
    IndexInfo,
    SearchBackend,
    initial_index,
    is_index_of,
    new_index_name,
)
from ucloud.search.documents import ID_FIELD, WORDS_FIELD, IndexSpec, Prepared
from ucloud.search.query import Hit, SearchQuery, SearchResult, SearchUnavailable, page_result

# Statuses meaning "the engine, not the request": wait and try again.
UNAVAILABLE_STATUSES = frozenset({429, 502, 503, 504})


@contextlib.contextmanager
def engine_errors() -> Iterator[None]:
    """Connection failures and overload become ``SearchUnavailable``."""
    try:
        yield
    except TransportError as exc:  # refused, reset, timed out
        raise SearchUnavailable(f"Elasticsearch is unreachable: {exc}") from exc
    except ApiError as exc:
        if exc.meta.status in UNAVAILABLE_STATUSES:
            raise SearchUnavailable(f"Elasticsearch answered {exc.meta.status}") from exc
        raise


def build_query(query: SearchQuery) -> dict[str, Any]:
    """The ``bool`` query of a ``SearchQuery`` (tested without a server)."""
    return {
        "bool": {
            "must": [{"prefix": {WORDS_FIELD: word}} for word in query.words],
            "should": [{"match": {WORDS_FIELD: " ".join(query.words)}}],
            "filter": [{"term": {field: value}} for field, value in query.filters.items()],
        }
    }


def build_actions(documents: Sequence[Prepared], index: str) -> list[dict[str, Any]]:
    """Bulk ``index`` actions: the document's body plus the kit's fields."""
    return [
        {
            "_op_type": "index",
            "_index": index,
            "_id": document.id,
            "_source": {**document.body, WORDS_FIELD: document.words, ID_FIELD: document.id},
        }
        for document in documents
    ]


class ElasticsearchBackend(SearchBackend):
    name = "elasticsearch"

    def __init__(self, client: Elasticsearch) -> None:
        self.client = client
        # Aliases known to exist in this process (created on first write).
        self._ready: set[str] = set()

    def _ensure_alias(self, spec: IndexSpec) -> None:
        if spec.alias in self._ready:
            return
        if not self.client.indices.exists_alias(name=spec.alias):
            initial = initial_index(spec)
            with contextlib.suppress(ApiError):  # made meanwhile by another process
                self.client.indices.create(index=initial, **spec.elasticsearch_body())
            self.client.indices.update_aliases(
                actions=[{"add": {"index": initial, "alias": spec.alias}}]
            )
        self._ready.add(spec.alias)

    def write(self, spec: IndexSpec, documents: Sequence[Prepared], *, index: str = "") -> None:
        if not documents:
            return
        with engine_errors():
            if not index:
                self._ensure_alias(spec)
            helpers.bulk(self.client, build_actions(documents, index or spec.alias))

    def delete(self, spec: IndexSpec, ids: Sequence[str], *, index: str = "") -> None:
        if not ids:
            return
        target = index or spec.alias
        actions = [{"_op_type": "delete", "_index": target, "_id": id} for id in ids]
        with engine_errors():
            if not index:
                self._ensure_alias(spec)
            _, errors = helpers.bulk(self.client, actions, raise_on_error=False)
        # Deleting what is not there is fine; anything else is not.
        failed = (
            [item for item in errors if _status(item) != 404] if isinstance(errors, list) else []
        )
        if failed:
            raise helpers.BulkIndexError(f"{len(failed)} document(s) failed to delete", failed)

    def search(self, spec: IndexSpec, query: SearchQuery) -> SearchResult:
        with engine_errors():
            try:
                answer = self.client.search(
                    index=spec.alias,
                    query=build_query(query),
                    sort=[{"_score": "desc"}, {ID_FIELD: "asc"}],
                    from_=query.offset,
                    size=query.size + 1,
                    track_total_hits=False,
                )
            except NotFoundError:
                return SearchResult(hits=[], more=False)  # nothing indexed yet
        hits = [
            Hit(id=hit["_id"], score=float(hit.get("_score") or 0.0), source=_body(hit))
            for hit in answer["hits"]["hits"]
        ]
        return page_result(hits, query)

    def create_index(self, spec: IndexSpec) -> str:
        name = new_index_name(spec)
        with engine_errors():
            self.client.indices.create(index=name, **spec.elasticsearch_body())
        return name

    def _aliased(self, spec: IndexSpec) -> list[str]:
        try:
            return sorted(self.client.indices.get_alias(name=spec.alias).body)
        except NotFoundError:
            return []

    def switch_alias(self, spec: IndexSpec, index: str) -> list[str]:
        with engine_errors():
            previous = [name for name in self._aliased(spec) if name != index]
            actions: list[dict[str, Any]] = [
                {"remove": {"index": name, "alias": spec.alias}} for name in previous
            ]
            actions.append({"add": {"index": index, "alias": spec.alias}})
            self.client.indices.update_aliases(actions=actions)
        self._ready.add(spec.alias)
        return previous

    def drop_index(self, spec: IndexSpec, index: str) -> None:
        with engine_errors(), contextlib.suppress(NotFoundError):
            self.client.indices.delete(index=index)

    def current_index(self, spec: IndexSpec) -> str:
        with engine_errors():
            found = self._aliased(spec)
        return found[0] if found else initial_index(spec)

    def indices(self, spec: IndexSpec) -> list[IndexInfo]:
        with engine_errors():
            try:
                found = self.client.indices.get(index=f"{spec.alias}-*").body
            except NotFoundError:
                return []
            infos = []
            for name in sorted(found):
                if not is_index_of(spec, name):
                    continue
                count = int(self.client.count(index=name)["count"])
                aliases = tuple(sorted(found[name].get("aliases", {})))
                infos.append(IndexInfo(name, count, aliases))
        return infos

    def refresh(self, spec: IndexSpec) -> None:
        with engine_errors(), contextlib.suppress(NotFoundError):
            self.client.indices.refresh(index=spec.alias)

    def ping(self) -> None:
        with engine_errors():
            self.client.info()


def _status(item: dict[str, Any]) -> int:
    for result in item.values():
        return int(result.get("status", 0))
    return 0


def _body(hit: dict[str, Any]) -> dict[str, Any]:
    source = dict(hit.get("_source") or {})
    source.pop(WORDS_FIELD, None)
    source.pop(ID_FIELD, None)
    return source
