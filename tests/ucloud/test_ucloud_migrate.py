"""``manage.py ucloud_migrate`` takes turns on PostgreSQL: pods of a unit all
run it as they start, and only one migrates at a time."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection, connections

from tests.conftest import require
from ucloud.management.commands.ucloud_migrate import MIGRATION_LOCK

# Bounds only how long a broken lock is waited for; nothing is timed.
DEADLINE = 60.0


def _connect() -> psycopg.Connection:
    config = connection.settings_dict
    return psycopg.connect(
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        dbname=config["NAME"],
        autocommit=True,
    )


def _waiting_for_the_lock(observer: psycopg.Connection) -> bool:
    row = observer.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    ).fetchone()
    return bool(row and row[0])


@pytest.mark.django_db(transaction=True)
def test_a_second_migration_waits_until_the_first_releases_the_lock():
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    outcome: list[BaseException | None] = []

    def migrate() -> None:
        try:
            call_command("ucloud_migrate", verbosity=0)
            outcome.append(None)
        except BaseException as exc:  # reported by the assertion below
            outcome.append(exc)
        finally:
            connections.close_all()  # this thread's own connections

    with _connect() as holder, _connect() as observer:
        holder.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
        second = threading.Thread(target=migrate, daemon=True)
        second.start()
        give_up = time.monotonic() + DEADLINE
        while not _waiting_for_the_lock(observer):
            assert time.monotonic() < give_up, "ucloud_migrate never asked for the lock"
            time.sleep(0.05)

        assert second.is_alive()
        assert outcome == []
        holder.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])
        second.join(DEADLINE)

    assert outcome == [None]
