"""Create the database of each unit on the server ``DATABASE_URL`` names.

PostgreSQL: connects to the server's ``postgres`` maintenance database and
creates each missing database; SQLite files need no creating::

    created = create_unit_databases(topology, "postgres://postgres@127.0.0.1:5432/postgres")
"""

from __future__ import annotations

import environ
import psycopg
from psycopg import sql

from ucloud.deploy.topology import Topology


def is_postgres(database_url: str) -> bool:
    engine = str(environ.Env.db_url_config(database_url).get("ENGINE", ""))
    return "postgresql" in engine


def maintenance_connection(database_url: str) -> psycopg.Connection:
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


def create_unit_databases(topology: Topology, database_url: str) -> list[str]:
    """Create the units' databases that do not exist yet; return their names."""
    if not is_postgres(database_url):
        return []
    created = []
    with maintenance_connection(database_url) as conn:
        for unit in topology.units:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (unit.database,)
            ).fetchone()
            if exists is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(unit.database)))
                created.append(unit.database)
    return created
