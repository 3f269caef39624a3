"""Search engines for the conformance suite: the same tests on every backend.

``engine`` configures the kit for one backend at a time: the database
filter, PostgreSQL full text (a failure in CI without PostgreSQL, a skip
elsewhere), the in-memory ``osmem-server`` speaking the Elasticsearch API
(a fresh clone per test; plain JSON, see ``ucloud.search.client``), and a
real Elasticsearch when ``ELASTICSEARCH_URL`` is set::

    def test_x(engine):
        engine.index(file_ids)
        engine.search("q3 budget", reader="alice")
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection

from apps.files.documents import FileDocument
from tests.conftest import require
from ucloud.search.backends import backend_for
from ucloud.search.backends.base import SearchBackend
from ucloud.search.documents import spec_of
from ucloud.search.indexing import reindex
from ucloud.search.query import SearchResult
from ucloud.search.searching import search

ENGINES = ["database", "postgresql", "osmem", "elasticsearch"]


@dataclass
class Engine:
    name: str

    @property
    def backend(self) -> SearchBackend:
        return backend_for("files")

    def index(self, ids: Iterable[Any]) -> None:
        reindex(FileDocument, ids)
        self.backend.refresh(spec_of(FileDocument))

    def search(self, text: str, *, reader: str, size: int = 50, offset: int = 0) -> SearchResult:
        return search(FileDocument, text, filters={"readers": reader}, size=size, offset=offset)


def elasticsearch_settings(url: str, *, plain: bool, prefix: str = "") -> dict[str, Any]:
    return {
        "SEARCH_BACKEND": "elasticsearch",
        "ELASTICSEARCH_URL": url,
        "ELASTICSEARCH_PLAIN_JSON": plain,
        "SEARCH_INDEX_PREFIX": prefix,
    }


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, settings: Any, db: None) -> Iterator[Engine]:
    name = request.param
    ucloud = dict(settings.UCLOUD)
    if name == "database":
        ucloud.update(SEARCH_BACKEND="database", ELASTICSEARCH_URL=None)
    elif name == "postgresql":
        require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
        ucloud.update(SEARCH_BACKEND="postgresql", ELASTICSEARCH_URL=None)
    elif name == "osmem":
        ucloud.update(elasticsearch_settings(request.getfixturevalue("osmem_url"), plain=True))
    else:
        url = os.environ.get("ELASTICSEARCH_URL")
        if not url:
            pytest.skip("ELASTICSEARCH_URL is not set (a real Elasticsearch is optional)")
        prefix = f"test-{uuid.uuid4().hex[:8]}-"
        plain = os.environ.get("ELASTICSEARCH_PLAIN_JSON", "").lower() in ("1", "true", "yes")
        ucloud.update(elasticsearch_settings(url, plain=plain, prefix=prefix))
    settings.UCLOUD = ucloud
    found = Engine(name)
    yield found
    if name == "elasticsearch":
        spec = spec_of(FileDocument)
        for info in found.backend.indices(spec):
            found.backend.drop_index(spec, info.name)
