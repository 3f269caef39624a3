"""Search backends, and which one a service uses.

``UCLOUD["SEARCH_BACKEND"]`` names one (``"elasticsearch"``,
``"postgresql"``, ``"database"``); unset, the kit picks Elasticsearch when
``ELASTICSEARCH_URL`` is set, else PostgreSQL full text when the service's
database is PostgreSQL, else the plain database filter (SQLite)::

    backend_for("files").search(spec, query)
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import connections

from ucloud.databases import alias_for
from ucloud.search.backends.base import SearchBackend
from ucloud.search.backends.database import DatabaseBackend
from ucloud.search.backends.elasticsearch import ElasticsearchBackend
from ucloud.search.backends.postgresql import PostgreSQLBackend
from ucloud.search.client import elasticsearch_client
from ucloud.settings import ucloud_settings

BACKENDS = ("elasticsearch", "postgresql", "database")

_cache: dict[tuple[str, str], SearchBackend] = {}


def backend_name(service: str) -> str:
    """The backend ``service`` uses, by the rules above."""
    chosen = ucloud_settings.SEARCH_BACKEND
    if chosen is not None:
        if chosen not in BACKENDS:
            raise ImproperlyConfigured(
                f"UCLOUD['SEARCH_BACKEND'] is {chosen!r}; use one of {', '.join(BACKENDS)}"
            )
        return str(chosen)
    if ucloud_settings.ELASTICSEARCH_URL:
        return "elasticsearch"
    if connections[alias_for(service)].vendor == "postgresql":
        return "postgresql"
    return "database"


def backend_for(service: str) -> SearchBackend:
    name = backend_name(service)
    alias = "" if name == "elasticsearch" else alias_for(service)
    found = _cache.get((name, alias))
    if found is None:
        found = _cache[(name, alias)] = _make(name, alias)
    return found


def _make(name: str, alias: str) -> SearchBackend:
    if name == "elasticsearch":
        client = elasticsearch_client()
        if client is None:
            raise ImproperlyConfigured("The elasticsearch search backend needs ELASTICSEARCH_URL")
        return ElasticsearchBackend(client)
    if name == "postgresql":
        if connections[alias].vendor != "postgresql":
            raise ImproperlyConfigured(f"Database {alias!r} is not PostgreSQL")
        return PostgreSQLBackend(alias)
    return DatabaseBackend(alias)


def reset() -> None:
    _cache.clear()


def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting in ("UCLOUD", "DATABASES"):
        reset()


setting_changed.connect(_reset)
