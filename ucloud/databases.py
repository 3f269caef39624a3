"""Where each service's data lives: one database alias per service.

Every installed service has an alias named after its label. With
``DATABASE_URL_<LABEL>`` set (and different from ``DATABASE_URL``) the alias
is a database of its own; otherwise it is a test mirror of ``default`` and
``alias_for`` answers ``default``, so one process with one database keeps one
connection and one transaction per request. Django's own apps (auth,
contenttypes, admin, sessions) live with the service owning
``AUTH_USER_MODEL``; the kit's tables (outbox, inbox, dead letters) are in
every alias.

PostgreSQL aliases bind parameters on the server and prepare each statement
a connection has run ``PREPARE_THRESHOLD`` times (psycopg 3), so a repeated
query is parsed and planned once per connection; behind a pooler that
cannot keep prepared statements (PgBouncer in transaction mode before 1.21,
or without ``max_prepared_statements``) set ``DATABASE_PREPARED_STATEMENTS=false``.
Their ``ENGINE`` is then ``ucloud.db.postgresql``: Django's backend with
bulk batches that fit the 65,535 parameters server-side binding allows::

    DATABASES = database_settings(["accounts", "files"], environ=os.environ,
                                  default_url="sqlite:///db.sqlite3")
    with atomic("files"):                       # transaction.atomic on files' alias
        File.objects.create(...)                # the router sends it there too
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

import environ
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, transaction

# Django's apps whose tables go with the user model (admin log entries and
# permissions point at users and content types; sessions name users).
USER_APPS = frozenset({"auth", "contenttypes", "admin", "sessions"})
# The kit's app: its tables exist in every alias that holds a service.
KIT_APP = "ucloud"
# What makes two database settings the same database.
_IDENTITY = ("ENGINE", "NAME", "HOST", "PORT", "USER")
POSTGRESQL_ENGINE = "django.db.backends.postgresql"
# Django's, with batches that fit server-side binding's parameter limit.
KIT_POSTGRESQL_ENGINE = "ucloud.db.postgresql"
# Turns prepared statements off when false (0, no, off): for poolers that
# hand each transaction a different server connection.
PREPARED_STATEMENTS_VARIABLE = "DATABASE_PREPARED_STATEMENTS"
# psycopg's own default: a statement is prepared on its sixth execution on a
# connection, so one-off statements never occupy the server.
PREPARE_THRESHOLD = 5


def url_variable(service: str) -> str:
    """The environment variable giving ``service`` a database: ``DATABASE_URL_FILES``."""
    return f"DATABASE_URL_{service.upper()}"


def _same_database(one: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    return all(str(one.get(key) or "") == str(other.get(key) or "") for key in _IDENTITY)


def database_settings(
    services: Iterable[str], *, environ: Mapping[str, str], default_url: str
) -> dict[str, dict[str, Any]]:
    """``DATABASES``: ``default`` from ``DATABASE_URL`` plus one alias per service.

    A service without a database of its own gets a copy of ``default``
    marked as its test mirror, so the test runner creates one database.
    """
    prepared = _enabled(environ.get(PREPARED_STATEMENTS_VARIABLE, ""), default=True)
    default = _parse(environ.get("DATABASE_URL") or default_url, prepared=prepared)
    databases: dict[str, dict[str, Any]] = {DEFAULT_DB_ALIAS: default}
    for service in services:
        url = environ.get(url_variable(service), "")
        own = _parse(url, prepared=prepared) if url else None
        if own is None or _same_database(own, default):
            mirror = copy.deepcopy(default)
            mirror["TEST"] = {**mirror.get("TEST", {}), "MIRROR": DEFAULT_DB_ALIAS}
            databases[service] = mirror
        else:
            databases[service] = own
    return databases


def _parse(url: str, *, prepared: bool) -> dict[str, Any]:
    config = dict(environ.Env.db_url_config(url))
    if prepared and config["ENGINE"] == POSTGRESQL_ENGINE:
        # Django's default is client-side binding, which psycopg never
        # prepares; options given in the URL win.
        options = config.setdefault("OPTIONS", {})
        options.setdefault("server_side_binding", True)
        options.setdefault("prepare_threshold", PREPARE_THRESHOLD)
        config["ENGINE"] = KIT_POSTGRESQL_ENGINE
    return config


def _enabled(value: str, *, default: bool) -> bool:
    if not value.strip():
        return default
    return value.strip().lower() not in ("0", "false", "no", "off")


def has_own_database(service: str) -> bool:
    """Whether ``service``'s alias is a database other than ``default``."""
    config = settings.DATABASES.get(service)
    if config is None:
        return False
    return (config.get("TEST") or {}).get("MIRROR") != DEFAULT_DB_ALIAS


def alias_for(service: str) -> str:
    """The database alias holding ``service``'s tables (``default`` when shared)."""
    return service if has_own_database(service) else DEFAULT_DB_ALIAS


def aliases_for(services: Iterable[str]) -> list[str]:
    """The distinct aliases of ``services``, ``default`` first, then by name."""
    found = {alias_for(service) for service in services}
    return sorted(found, key=lambda alias: (alias != DEFAULT_DB_ALIAS, alias))


def user_model_app() -> str:
    """The app label owning ``AUTH_USER_MODEL`` (``accounts``)."""
    return str(settings.AUTH_USER_MODEL).partition(".")[0]


def home_app(app_label: str) -> str:
    """The app whose alias holds ``app_label``'s tables: itself, or for
    Django's user-related apps the owner of the user model."""
    return user_model_app() if app_label in USER_APPS else app_label


def atomic(service: str, *, savepoint: bool = True, durable: bool = False) -> transaction.Atomic:
    """``transaction.atomic`` on ``service``'s alias; use it in the service's own code."""
    return transaction.atomic(using=alias_for(service), savepoint=savepoint, durable=durable)
