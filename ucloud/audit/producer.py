"""Producing audit records without making any request wait for them.

``record`` builds the record (secrets redacted) and hands it to the
process's buffer; a background thread produces what is buffered, in
batches, onto the ``ucloud.audit`` stream, each record into the outbox of
the database of the service that served the call (the unit that ran the
call relays it). The buffer survives an unreachable database (it keeps up
to ``AUDIT_BUFFER_LIMIT`` records, then drops the oldest with an error in
the log); a process that dies loses what it had not flushed yet, at most
``AUDIT_FLUSH_INTERVAL`` seconds of records. ``AUDIT_IN_BACKGROUND = False``
produces each record at once, in the caller's thread::

    buffer.add("files", {...})          # what record() does
    buffer.flush()                      # produce everything buffered now
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import logging
import os
import threading
from typing import Any

from django.db import close_old_connections, connections, transaction

from ucloud.audit.stream import audit_records
from ucloud.events.streams import InvalidEvent
from ucloud.settings import ucloud_settings

logger = logging.getLogger("ucloud.audit")


class AuditBuffer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._records: collections.deque[tuple[str, dict[str, Any]]] = collections.deque()
        self._dropped = 0
        self._thread: threading.Thread | None = None
        self._pid = 0

    def add(self, alias: str, record: dict[str, Any]) -> None:
        if not ucloud_settings.AUDIT_IN_BACKGROUND:
            produce(alias, [record])
            return
        limit = int(ucloud_settings.AUDIT_BUFFER_LIMIT)
        with self._lock:
            self._ensure_thread()
            self._records.append((alias, record))
            while len(self._records) > limit:
                self._records.popleft()
                self._dropped += 1

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        if self._pid != os.getpid():
            # A forked child inherits the parent's buffer, not its thread.
            self._records.clear()
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="ucloud-audit", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            # Read at every wait: a changed setting applies without a restart.
            self._wake.wait(float(ucloud_settings.AUDIT_FLUSH_INTERVAL))
            self._wake.clear()
            try:
                self.flush()
                close_old_connections()
            except Exception:
                # Nothing may end this thread: a database that is down (its
                # connection check raises too) only delays the records.
                logger.warning("Producing audit records failed; kept for later", exc_info=True)
                for connection in connections.all(initialized_only=True):
                    with contextlib.suppress(Exception):
                        connection.close()

    def pending(self) -> int:
        with self._lock:
            return len(self._records)

    def flush(self) -> int:
        """Produce everything buffered now, grouped by database; return how
        many. On failure what was not produced goes back to the buffer."""
        with self._lock:
            taken = list(self._records)
            self._records.clear()
            dropped, self._dropped = self._dropped, 0
        if dropped:
            logger.error("Dropped %d audit record(s): the buffer was full", dropped)
        by_alias: dict[str, list[dict[str, Any]]] = {}
        for alias, record in taken:
            by_alias.setdefault(alias, []).append(record)
        groups = list(by_alias.items())
        done = 0
        for position, (alias, records) in enumerate(groups):
            try:
                produce(alias, records)
            except Exception:
                rest = [(each, record) for each, found in groups[position:] for record in found]
                with self._lock:
                    self._records.extendleft(reversed(rest))
                raise
            done += len(records)
        return done


def produce(alias: str, records: list[dict[str, Any]]) -> None:
    """The records onto the audit stream through ``alias``'s outbox, in a
    transaction of their own (or the caller's, when one is open there).

    On PostgreSQL that transaction commits without waiting for the disk
    (``synchronous_commit = off``): the records are already ones a crashed
    process may lose, and the flush must not cost the process a disk wait.

    A record the stream refuses (a bug: ``records.build`` cleans what
    callers send) is dropped with an error in the log, and the others are
    produced: kept, it would come back with every flush and hold back
    every record after it.
    """
    try:
        _produce(alias, records)
    except InvalidEvent:
        valid = _valid_only(records)
        if valid:
            _produce(alias, valid)


def _valid_only(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    valid = []
    for record in records:
        try:
            audit_records.validate(record)
        except InvalidEvent as exc:
            logger.error("Dropped an audit record of %s: %s", record.get("call"), exc.errors)
        else:
            valid.append(record)
    return valid


def _produce(alias: str, records: list[dict[str, Any]]) -> None:
    connection = connections[alias]
    # Never for a caller's open transaction: its own commit must stay durable.
    own = not connection.in_atomic_block
    with transaction.atomic(using=alias):
        if own and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        audit_records.produce_many(records, using=alias)


buffer = AuditBuffer()


@atexit.register
def _flush_at_exit() -> None:
    # Best effort: what a clean exit still holds.
    if buffer.pending():
        try:
            buffer.flush()
        except Exception:
            logger.exception("Audit records lost at exit")
