"""Locks as PostgreSQL session-level advisory locks, where there is no Redis.

A session-level advisory lock belongs to the connection that took it, so
every acquisition opens its own psycopg connection (from the Django database
settings, never Django's request connection) and keeps it until release.
The server does not enforce the ttl: the lock is held until it is released
or its connection dies (the process exits, or TCP keepalives give up on a
lost peer). That is the safe direction: it never ends early::

    backend = PostgresLocks("default")
    with DistributedLock("jobs.prune", ttl=30, backend=backend):
        prune()

Fencing tokens come from one sequence, so they increase across all lock
names; it starts at the clock in microseconds and is created on first use
(not by a migration: a lock must work before, and whatever apps are
installed). Writers check the tokens in their own database
(``ucloud.locks.fence``).
"""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg
from django.db import connections

from ucloud.locks.base import HeldLock, Holder, LockBackend, time_floor

SEQUENCE = "ucloud_lock_fencing_token"
# Serializes the CREATE ... IF NOT EXISTS of several first users.
SCHEMA_LOCK_KEY = -0x75C10D0000000001

# One round trip; CASE evaluates nextval() only once the lock is taken, so a
# failed attempt consumes no token.
ACQUIRE = f"SELECT CASE WHEN pg_try_advisory_lock(%s) THEN nextval('{SEQUENCE}') END"

# The server notices a vanished client after about a minute, not hours
# (these settings only apply to TCP connections).
KEEPALIVES = "-c tcp_keepalives_idle=30 -c tcp_keepalives_interval=10 -c tcp_keepalives_count=3"


def advisory_key(name: str) -> int:
    """The signed 64-bit advisory lock key of a lock name."""
    digest = hashlib.blake2b(f"ucloud.lock:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresLocks(LockBackend):
    """Advisory locks in the PostgreSQL database of a Django alias."""

    name = "postgresql"

    def __init__(self, alias: str = "default") -> None:
        self.alias = alias
        self._schema_ready = False

    def connection_params(self) -> dict[str, Any]:
        params = connections[self.alias].get_connection_params()
        # Django's cursor class and adapters are for its own connections.
        for django_only in ("cursor_factory", "context"):
            params.pop(django_only, None)
        params["options"] = f"{params.get('options', '')} {KEEPALIVES}".strip()
        return params

    def connect(self, application_name: str | None = None) -> psycopg.Connection[Any]:
        """A new autocommit connection: a lock's session, closed with it.

        ``application_name`` names the lock, so that ``held_locks`` can tell
        which lock a session holds (advisory keys are hashes).
        """
        params = self.connection_params()
        if application_name is not None:
            params["application_name"] = application_name
        return psycopg.connect(**params, autocommit=True)

    def ensure_schema(self) -> None:
        if self._schema_ready:
            return
        with self.connect() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [SCHEMA_LOCK_KEY])
            # DDL takes no parameters; the start is an int we made.
            conn.execute(f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE} START WITH {time_floor():d}")
        self._schema_ready = True

    def holder(self, name: str) -> PostgresHolder:
        return PostgresHolder(self, advisory_key(name), name)

    def held_locks(self) -> list[HeldLock]:
        """Advisory locks granted to the kit's lock sessions; the server does
        not enforce a ttl and the fencing token is not kept per lock."""
        with self.connect() as conn:
            rows = conn.execute(HELD, [f"{APPLICATION_PREFIX}%"]).fetchall()
        return [
            HeldLock(str(name)[len(APPLICATION_PREFIX) :], f"{host or 'local'}:{pid}", None, None)
            for name, pid, host in rows
        ]


# The session of a held lock is named after it (PostgreSQL keeps 63 bytes).
APPLICATION_PREFIX = "ucloud lock "
HELD = """
SELECT DISTINCT a.application_name, a.pid, a.client_addr::text
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE %s
ORDER BY 1
"""


class PostgresHolder(Holder):
    def __init__(self, backend: PostgresLocks, key: int, name: str = "") -> None:
        self.backend = backend
        self.key = key
        self.name = name
        self.conn: psycopg.Connection[Any] | None = None

    def try_acquire(self, ttl: float) -> int | None:
        # A blocking acquire polls on the one connection it opened.
        if self.conn is None:
            self.backend.ensure_schema()
            self.conn = self.backend.connect(f"{APPLICATION_PREFIX}{self.name}"[:63])
        row = self.conn.execute(ACQUIRE, [self.key]).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def renew(self, ttl: float) -> bool:
        # The ttl is not enforced here; the lock lasts as long as its session.
        if self.conn is None:
            return False
        try:
            self.conn.execute("SELECT 1")
        except psycopg.Error:
            self.abandon()
            return False
        return True

    def release(self) -> bool:
        if self.conn is None:
            return False
        try:
            row = self.conn.execute("SELECT pg_advisory_unlock(%s)", [self.key]).fetchone()
            released = bool(row and row[0])
        except psycopg.Error:
            # The session is gone, and the lock with it.
            released = False
        self.abandon()
        return released

    def abandon(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
