"""The outbox: produced events are rows written in the producer's transaction.

After the transaction commits, the hook the relay registered (in the kit's
``ready()``) runs once for that transaction; the periodic sweep picks up
whatever a crash or a broker outage left behind::

    outbox.write("files.events", "file_id", contract, [{"type": "file_created"}], using="files")
    outbox.set_after_commit(relay.relay_after_commit)      # done by ucloud's AppConfig
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from ucloud import observers
from ucloud.events.copying import copy_rows, new_event_ids, worth_copying
from ucloud.models import OutboxEvent

logger = logging.getLogger("ucloud.events")

# What runs after a producing transaction commits, with its alias. The relay
# registers itself here so that this module never imports it (the relay
# depends on the outbox, not the other way round).
_after_commit: Callable[[str], None] | None = None


def set_after_commit(hook: Callable[[str], None] | None) -> None:
    global _after_commit
    _after_commit = hook


def write(
    stream: str,
    key_field: str,
    contract: str,
    payloads: list[dict[str, Any]],
    *,
    using: str | None,
) -> None:
    """Insert one outbox row per payload on ``using``, in its current transaction."""
    if not payloads:
        return
    alias = using or DEFAULT_DB_ALIAS
    observer = observers.events
    trace = ""
    if observer is not None:
        observer.produced(stream, len(payloads))
        trace = observer.trace_context()
    if worth_copying(alias, len(payloads)):
        encoder, tail = DjangoJSONEncoder(), (contract, trace, timezone.now())
        copy_rows(
            alias,
            OutboxEvent,
            ("event_id", "stream", "key", "payload", "contract", "trace", "created_at"),
            [
                (event_id, stream, str(p.get(key_field, "")), encoder.encode(p), *tail)
                for event_id, p in zip(new_event_ids(len(payloads)), payloads, strict=True)
            ],
        )
    else:
        rows = [
            OutboxEvent(
                stream=stream,
                key=str(payload.get(key_field, "")),
                payload=payload,
                contract=contract,
                trace=trace,
            )
            for payload in payloads
        ]
        OutboxEvent.objects.using(alias).bulk_create(rows)
    _schedule_after_commit(alias)


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
