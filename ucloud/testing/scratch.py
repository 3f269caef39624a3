"""A throwaway database for the processes of one test: created empty, dropped afterwards.

A fresh PostgreSQL database on the server ``DATABASE_URL`` names when that
is PostgreSQL, else a SQLite file in the given folder (never in memory: the
test and the processes it starts share it)::

    with scratch_database(tmp_path) as database_url:
        manage({**env, "DATABASE_URL": database_url}, "migrate", "--noinput")
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ucloud.deploy.database_server import create_databases, drop_databases, is_postgres
from ucloud.deploy.topology import database_url


@contextmanager
def scratch_database(folder: Path, *, prefix: str = "ucloud_e2e") -> Iterator[str]:
    """The URL of a new, empty database named ``<prefix>_<random>``, removed afterwards."""
    configured = os.environ.get("DATABASE_URL", "")
    if not configured or not is_postgres(configured):
        yield f"sqlite:///{folder / 'e2e.sqlite3'}"
        return
    name = f"{prefix}_{secrets.token_hex(6)}"
    create_databases(configured, [name])
    try:
        yield database_url(configured, name)
    finally:
        drop_databases(configured, [name])
