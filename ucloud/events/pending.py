"""The relay's batch: the oldest pending outbox rows, marked relayed.

Called inside the relay's transaction (which holds the relay lock): the rows
come back in id order as the broker's ``Outgoing`` entries, already marked;
if appending them to Redis fails, the transaction rolls back and they stay
pending::

    with transaction.atomic(using="files"):
        rows = take_pending("files", size=500)
        broker.publish(client, rows)
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import connections
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils import timezone

from ucloud.events.broker import Outgoing
from ucloud.models import OutboxEvent


def take_pending(using: str, *, size: int, min_age: float = 0.0) -> list[Outgoing]:
    """Up to ``size`` pending rows (older than ``min_age`` seconds), oldest first."""
    cutoff = timezone.now() - datetime.timedelta(seconds=min_age) if min_age else None
    if connections[using].vendor == "postgresql":
        return _taken_in_one_statement(using, size, cutoff)
    return _selected_then_marked(using, size, cutoff)


# One UPDATE ... RETURNING instead of a SELECT and an UPDATE of 500 ids: one
# round trip, no list of ids to bind, and the texts the stream entry needs
# (payload, ids, production time) made by the server rather than the driver
# and Python. The subquery reads the pending rows through the partial index
# (the relay's transaction turns bitmap scans off: ``relay``).
_TAKE = """
UPDATE "{table}" SET "relayed_at" = %s
WHERE "id" IN (
    SELECT "id" FROM "{table}" WHERE "relayed_at" IS NULL {older} ORDER BY "id" LIMIT %s
)
RETURNING "id", "stream", "key", "event_id"::text, "payload"::text,
    to_char("created_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
    "contract", "trace"
"""


def _taken_in_one_statement(
    using: str, size: int, cutoff: datetime.datetime | None
) -> list[Outgoing]:
    statement = _TAKE.format(
        table=OutboxEvent._meta.db_table, older='AND "created_at" <= %s' if cutoff else ""
    )
    params: list[Any] = [timezone.now(), *([cutoff] if cutoff else []), size]
    with connections[using].cursor() as cursor:
        cursor.execute(statement, params)
        rows = cursor.fetchall()
    rows.sort(key=lambda row: row[0])  # RETURNING has no order
    # The columns come in Outgoing's order, after the id.
    return [Outgoing._make(row[1:]) for row in rows]


# The payload as the database holds it (JSON text): decoding it into a dict
# only to encode it again for Redis would double the relay's work.
_COLUMNS = ("id", "event_id", "stream", "key", "payload_json", "contract", "created_at", "trace")


def _selected_then_marked(
    using: str, size: int, cutoff: datetime.datetime | None
) -> list[Outgoing]:
    pending = OutboxEvent.objects.using(using).filter(relayed_at__isnull=True)
    if cutoff is not None:
        pending = pending.filter(created_at__lte=cutoff)
    as_text = pending.annotate(payload_json=Cast("payload", TextField()))
    rows = list(as_text.order_by("id").values_list(*_COLUMNS)[:size])
    if rows:
        OutboxEvent.objects.using(using).filter(id__in=[row[0] for row in rows]).update(
            relayed_at=timezone.now()
        )
    return [_outgoing(row) for row in rows]


def _outgoing(row: tuple[Any, ...]) -> Outgoing:
    _, event_id, stream, key, payload, contract, created_at, trace = row
    if isinstance(created_at, datetime.datetime):
        created_at = created_at.isoformat()
    return Outgoing(
        stream=stream,
        key=key,
        event_id=str(event_id),
        payload=payload,
        produced_at=created_at or "",
        contract=contract,
        trace=trace,
    )
