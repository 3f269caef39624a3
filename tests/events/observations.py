"""What the proofs observe: the shared database (read with plain SQL, outside
Django) and the probe's executions log.

The test process does not have the probe app installed, and it must not hold
locks the workers need, so it reads with short DB-API connections::

    database = EventDatabase("sqlite:////tmp/x/events.sqlite3")
    database.effects()          # {"one": [0, 1, ...], "batch": [0, 1, ...]}
    executions(tmp_path)        # [Execution("one", "<uuid>", 0, 4242), ...]
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import environ
import psycopg

from tests.events.probe.switches import EXECUTIONS

# The kit's tables and the probe's, emptied between proofs.
TABLES = (
    "probe_effect",
    "probe_applied",
    "echo_echo",
    "ucloud_inboxentry",
    "ucloud_outboxevent",
    "ucloud_deadletter",
)


class EventDatabase:
    """The database workers and producers of the proofs share."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.config = environ.Env.db_url_config(url)

    @property
    def is_postgres(self) -> bool:
        return "postgresql" in str(self.config["ENGINE"])

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        if self.is_postgres:
            with psycopg.connect(
                host=self.config.get("HOST") or None,
                port=self.config.get("PORT") or None,
                user=self.config.get("USER") or None,
                password=self.config.get("PASSWORD") or None,
                dbname=self.config["NAME"],
                autocommit=True,
            ) as conn:
                cursor = conn.execute(query)
                return list(cursor.fetchall()) if cursor.description else []
        # Autocommit: a statement never leaves a lock behind.
        lite = sqlite3.connect(self.config["NAME"], timeout=30, isolation_level=None)
        try:
            return list(lite.execute(query).fetchall())
        finally:
            lite.close()

    def refuse_connections(self) -> None:
        """PostgreSQL: the database accepts no connection (as if its server
        were down for it) and the open ones are cut."""
        name = self.config["NAME"]
        with self._maintenance() as conn:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [name],
            )

    def accept_connections(self) -> None:
        with self._maintenance() as conn:
            conn.execute(f'ALTER DATABASE "{self.config["NAME"]}" ALLOW_CONNECTIONS true')

    def _maintenance(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=self.config.get("HOST") or None,
            port=self.config.get("PORT") or None,
            user=self.config.get("USER") or None,
            password=self.config.get("PASSWORD") or None,
            dbname="postgres",
            autocommit=True,
        )

    def count(self, query: str) -> int:
        return int(self.rows(query)[0][0])

    def reset(self) -> None:
        for table in TABLES:
            self.rows(f"DELETE FROM {table}")

    def effects(self) -> dict[str, list[int]]:
        """Event numbers with an effect, per probe processor and for the echo
        group ("echo"), sorted (with repeats)."""
        found: dict[str, list[int]] = {}
        for processor, number in self.rows(
            "SELECT processor, number FROM probe_effect "
            "UNION ALL SELECT 'echo', number FROM echo_echo ORDER BY 1, 2"
        ):
            found.setdefault(str(processor), []).append(int(number))
        return found

    def effect_count(self) -> int:
        return self.count("SELECT COUNT(*) FROM probe_effect") + self.count(
            "SELECT COUNT(*) FROM echo_echo"
        )

    def produced_numbers(self) -> list[int]:
        """Numbers of the probe events the outbox holds: what committed."""
        rows = self.rows("SELECT key FROM ucloud_outboxevent WHERE stream = 'probe.events'")
        return sorted(int(key) for (key,) in rows)

    def applied_sequences(self) -> dict[int, list[int]]:
        """Sequence numbers per key, in the order they were applied."""
        found: dict[int, list[int]] = {}
        for key, seq in self.rows("SELECT key, seq FROM probe_applied ORDER BY id"):
            found.setdefault(int(key), []).append(int(seq))
        return found

    def effect_pids(self) -> set[int]:
        """Processes that applied effects."""
        return {int(pid) for (pid,) in self.rows("SELECT DISTINCT pid FROM probe_effect")}

    def pending_outbox(self) -> int:
        return self.count("SELECT COUNT(*) FROM ucloud_outboxevent WHERE relayed_at IS NULL")

    def outbox(self) -> int:
        return self.count("SELECT COUNT(*) FROM ucloud_outboxevent")

    def inbox(self) -> dict[str, int]:
        """Handled events per consumer id."""
        rows = self.rows("SELECT consumer, COUNT(*) FROM ucloud_inboxentry GROUP BY consumer")
        return {str(consumer): int(count) for consumer, count in rows}

    def dead_letters(self) -> list[DeadLetterRow]:
        rows = self.rows(
            "SELECT consumer, key, attempts, resolved_at FROM ucloud_deadletter ORDER BY consumer"
        )
        return [
            DeadLetterRow(str(consumer), int(key), int(attempts), resolved is not None)
            for consumer, key, attempts, resolved in rows
        ]


@dataclass(frozen=True)
class DeadLetterRow:
    consumer: str
    number: int
    attempts: int
    resolved: bool


@dataclass(frozen=True)
class Execution:
    """One run of a probe processor on one event, committed or not."""

    processor: str
    event_id: str
    number: int
    pid: int


def executions(directory: Path) -> list[Execution]:
    log = directory / EXECUTIONS
    if not log.exists():
        return []
    found = []
    for line in log.read_text().splitlines():
        processor, event_id, number, pid = line.split()
        found.append(Execution(processor, event_id, int(number), int(pid)))
    return found


def execution_counts(directory: Path) -> Counter[tuple[str, int]]:
    """How often each (processor, event number) ran."""
    return Counter((run.processor, run.number) for run in executions(directory))
