"""The outbox: produced events are rows written in the producer's transaction.

After the transaction commits, the relay is kicked once for that
transaction; the periodic sweep picks up whatever a crash or a broker outage
left behind::

    outbox.write(files_events, [{"type": "file_created", ...}])
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Field
from django.utils import timezone

from ucloud.models import OutboxEvent
from ucloud.relay_thread import BackgroundRelay
from ucloud.settings import ucloud_settings

if TYPE_CHECKING:
    from ucloud.streams import EventStream

logger = logging.getLogger("ucloud.streams")


# Batches this large go through PostgreSQL's COPY, several times cheaper per
# row than the multi-row INSERT the ORM builds; smaller ones are not worth
# the extra statement.
COPY_THRESHOLD = 100


def write(stream: EventStream, payloads: list[dict[str, Any]], *, using: str | None) -> None:
    if not payloads:
        return
    alias = using or DEFAULT_DB_ALIAS
    if len(payloads) >= COPY_THRESHOLD and connections[alias].vendor == "postgresql":
        _copy_rows(alias, stream, payloads)
    else:
        rows = [
            OutboxEvent(stream=stream.name, key=str(payload.get(stream.key, "")), payload=payload)
            for payload in payloads
        ]
        OutboxEvent.objects.using(alias).bulk_create(rows)
    _schedule_relay(alias)


_COPY_FIELDS = ("event_id", "stream", "key", "payload", "created_at")


def _copy_rows(alias: str, stream: EventStream, payloads: list[dict[str, Any]]) -> None:
    """The same rows ``bulk_create`` would write, through ``COPY``."""
    fields = [OutboxEvent._meta.get_field(name) for name in _COPY_FIELDS]
    names = ", ".join(f'"{field.column}"' for field in fields if isinstance(field, Field))
    statement = f'COPY "{OutboxEvent._meta.db_table}" ({names}) FROM STDIN'
    encoder = DjangoJSONEncoder()
    now = timezone.now()
    with connections[alias].cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for payload in payloads:
            key = str(payload.get(stream.key, ""))
            copy.write_row((uuid.uuid4(), stream.name, key, encoder.encode(payload), now))


def _schedule_relay(alias: str) -> None:
    """One relay kick per transaction, however many events it produces."""
    # Django drops the hooks of a rolled-back transaction or savepoint from
    # this list and empties it on commit, so a hook in it that has not run
    # yet says this transaction already has a kick. (Test helpers such as
    # ``captureOnCommitCallbacks`` run hooks without removing them, hence
    # the ``fired`` flag rather than mere presence.)
    pending = connections[alias].run_on_commit
    if any(isinstance(entry[1], _RelayHook) and not entry[1].fired for entry in pending):
        return
    transaction.on_commit(_RelayHook(alias), using=alias)


class _RelayHook:
    """The after-commit kick of one transaction."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.fired = False

    def __call__(self) -> None:
        self.fired = True
        relay_after_commit(self.alias)


def relay_after_commit(alias: str) -> None:
    """Relay the committed rows: in process (eager mode), on the background
    relay thread (with a broker, by default), or right here."""
    from ucloud import relay

    if not relay.events_eager() and ucloud_settings.RELAY_IN_BACKGROUND:
        background_relay.kick(alias)
    else:
        relay_now(alias)


def relay_now(alias: str) -> None:
    """Relay now; a failure is logged and left to the sweep, never raised
    into the request whose transaction already committed."""
    from ucloud import relay

    try:
        relay.relay_pending(using=alias)
    except Exception:
        logger.warning("Relay after commit failed; the sweep will retry", exc_info=True)


background_relay = BackgroundRelay(relay_now)
