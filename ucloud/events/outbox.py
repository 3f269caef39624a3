"""The outbox: produced events are rows written in the producer's transaction.

After the transaction commits, the hook the relay registered (in the kit's
``ready()``) runs once for that transaction; the periodic sweep picks up
whatever a crash or a broker outage left behind::

    outbox.write("files.events", "file_id", [{"type": "file_created", ...}], using="files")
    outbox.set_after_commit(relay.relay_after_commit)      # done by ucloud's AppConfig
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Field
from django.utils import timezone

from ucloud.models import OutboxEvent

logger = logging.getLogger("ucloud.events")

# Batches this large go through PostgreSQL's COPY, several times cheaper per
# row than the multi-row INSERT the ORM builds; smaller ones are not worth
# the extra statement.
COPY_THRESHOLD = 100

# What runs after a producing transaction commits, with its alias. The relay
# registers itself here so that this module never imports it (the relay
# depends on the outbox, not the other way round).
_after_commit: Callable[[str], None] | None = None


def set_after_commit(hook: Callable[[str], None] | None) -> None:
    global _after_commit
    _after_commit = hook


def write(
    stream: str, key_field: str, payloads: list[dict[str, Any]], *, using: str | None
) -> None:
    """Insert one outbox row per payload on ``using``, in its current transaction."""
    if not payloads:
        return
    alias = using or DEFAULT_DB_ALIAS
    if len(payloads) >= COPY_THRESHOLD and connections[alias].vendor == "postgresql":
        _copy_rows(alias, stream, key_field, payloads)
    else:
        rows = [
            OutboxEvent(stream=stream, key=str(payload.get(key_field, "")), payload=payload)
            for payload in payloads
        ]
        OutboxEvent.objects.using(alias).bulk_create(rows)
    _schedule_after_commit(alias)


_COPY_FIELDS = ("event_id", "stream", "key", "payload", "created_at")


def _copy_rows(alias: str, stream: str, key_field: str, payloads: list[dict[str, Any]]) -> None:
    """The same rows ``bulk_create`` would write, through ``COPY``."""
    fields = [OutboxEvent._meta.get_field(name) for name in _COPY_FIELDS]
    names = ", ".join(f'"{field.column}"' for field in fields if isinstance(field, Field))
    statement = f'COPY "{OutboxEvent._meta.db_table}" ({names}) FROM STDIN'
    encoder = DjangoJSONEncoder()
    now = timezone.now()
    with connections[alias].cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for payload in payloads:
            key = str(payload.get(key_field, ""))
            copy.write_row((uuid.uuid4(), stream, key, encoder.encode(payload), now))


def _schedule_after_commit(alias: str) -> None:
    """One hook per transaction, however many events it produces."""
    # Django drops the hooks of a rolled-back transaction or savepoint from
    # this list and empties it on commit, so a hook in it that has not run
    # yet says this transaction already has one. (Test helpers such as
    # ``captureOnCommitCallbacks`` run hooks without removing them, hence
    # the ``fired`` flag rather than mere presence.)
    pending = connections[alias].run_on_commit
    if any(isinstance(entry[1], _CommitHook) and not entry[1].fired for entry in pending):
        return
    transaction.on_commit(_CommitHook(alias), using=alias)


class _CommitHook:
    """The after-commit call of one producing transaction."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.fired = False

    def __call__(self) -> None:
        self.fired = True
        hook = _after_commit
        if hook is None:
            # No relay registered (the kit's app is not installed): the rows
            # wait for a sweep or a replay.
            return
        try:
            hook(self.alias)
        except Exception:
            # The transaction committed: the request must not fail now.
            logger.warning("Relay after commit failed; the sweep will retry", exc_info=True)
