"""Databases on the server ``DATABASE_URL`` names: created when missing, dropped after use.

PostgreSQL: each statement runs on the server's ``postgres`` maintenance
database; SQLite files need no creating (and are not dropped here)::

    created = create_unit_databases(topology, "postgres://postgres@127.0.0.1:5432/postgres")
    drop_databases("postgres://postgres@127.0.0.1:5432/postgres", created)
"""

from __future__ import annotations

from collections.abc import Iterable

import environ
import psycopg
from psycopg import sql

from ucloud.deploy.topology import Topology


def is_postgres(database_url: str) -> bool:
    engine = str(environ.Env.db_url_config(database_url).get("ENGINE", ""))
    return "postgresql" in engine


def maintenance_connection(database_url: str) -> psycopg.Connection:
    """An autocommit connection to the ``postgres`` database of ``database_url``'s server."""
    config = environ.Env.db_url_config(database_url)
    return psycopg.connect(
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,  # CREATE DATABASE cannot run inside a transaction
        connect_timeout=5,
    )


def server_reachable(database_url: str) -> bool:
    """True when the PostgreSQL server of ``database_url`` accepts a connection."""
    try:
        with maintenance_connection(database_url):
            return True
    except psycopg.Error:
        return False


def create_databases(database_url: str, names: Iterable[str]) -> list[str]:
    """Create those of ``names`` that do not exist yet on the server; return them."""
    if not is_postgres(database_url):
        return []
    created = []
    with maintenance_connection(database_url) as conn:
        for name in names:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if exists.fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                created.append(name)
    return created


def create_unit_databases(topology: Topology, database_url: str) -> list[str]:
    """Create the units' databases that do not exist yet; return their names."""
    return create_databases(database_url, [unit.database for unit in topology.units])


def drop_databases(database_url: str, names: Iterable[str]) -> None:
    """Drop ``names`` on the server, connected or not (FORCE: a killed process
    may still hold a connection)."""
    if not is_postgres(database_url):
        return
    with maintenance_connection(database_url) as conn:
        for name in names:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(name)))
