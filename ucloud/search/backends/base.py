"""The interface every search backend implements.

An index is reached through its alias (``IndexSpec.alias``); a concrete
index behind it is named ``<alias>-<suffix>``. Before any rebuild the alias
means ``<alias>-initial``, created on the first write. Writes are batches
(one bulk request, or one statement); ``delete`` forgets ids; ``search``
answers a ``SearchQuery`` with a ranked page::

    backend.write(spec, prepared)                   # upsert, by id
    backend.delete(spec, ["7"])
    backend.search(spec, SearchQuery(words=["q3"], filters={"readers": "alice"}))
    name = backend.create_index(spec)               # a rebuild's new index ...
    backend.write(spec, prepared, index=name)
    backend.switch_alias(spec, name)                # ... takes over at once
"""

from __future__ import annotations

import abc
import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from ucloud.search.documents import IndexSpec, Prepared
from ucloud.search.query import SearchQuery, SearchResult

INITIAL_SUFFIX = "initial"


@dataclass(frozen=True)
class IndexInfo:
    name: str
    documents: int
    # The aliases pointing at it.
    aliases: tuple[str, ...] = ()


def initial_index(spec: IndexSpec) -> str:
    return f"{spec.alias}-{INITIAL_SUFFIX}"


def new_index_name(spec: IndexSpec) -> str:
    """A fresh concrete name: the alias and the time, to the microsecond."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d%H%M%S%f")
    return f"{spec.alias}-{stamp}"


def is_index_of(spec: IndexSpec, index: str) -> bool:
    """Whether ``index`` is one of ``spec``'s concrete indices (not another
    alias's that happens to share the prefix)."""
    prefix, _, suffix = index.rpartition("-")
    return prefix == spec.alias and (suffix == INITIAL_SUFFIX or suffix.isdigit())


class SearchBackend(abc.ABC):
    #: "elasticsearch", "postgresql" or "database".
    name: str = ""

    @abc.abstractmethod
    def write(self, spec: IndexSpec, documents: Sequence[Prepared], *, index: str = "") -> None:
        """Insert or replace ``documents`` in the alias's index (or ``index``)."""

    @abc.abstractmethod
    def delete(self, spec: IndexSpec, ids: Sequence[str], *, index: str = "") -> None:
        """Forget ``ids``; unknown ids are ignored."""

    @abc.abstractmethod
    def search(self, spec: IndexSpec, query: SearchQuery) -> SearchResult: ...

    @abc.abstractmethod
    def create_index(self, spec: IndexSpec) -> str:
        """A new, empty concrete index for ``spec``; its name."""

    @abc.abstractmethod
    def switch_alias(self, spec: IndexSpec, index: str) -> list[str]:
        """Point the alias at ``index`` in one step; return the indices it left."""

    @abc.abstractmethod
    def drop_index(self, spec: IndexSpec, index: str) -> None: ...

    @abc.abstractmethod
    def indices(self, spec: IndexSpec) -> list[IndexInfo]:
        """The concrete indices of ``spec``, with their counts and aliases."""

    @abc.abstractmethod
    def current_index(self, spec: IndexSpec) -> str:
        """The concrete index the alias means now."""

    def refresh(self, spec: IndexSpec) -> None:
        """Make what was written visible to searches (Elasticsearch refreshes
        every second by itself; databases need nothing)."""
        return

    def ping(self) -> None:
        """Raise unless the engine answers (``SearchUnavailable``); a
        database backend's engine is the database, checked by ``/status``."""
        return
