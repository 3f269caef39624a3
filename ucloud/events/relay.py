"""The relay: moves committed outbox rows onto their Redis streams.

Runs right after each producing transaction commits (on the background
thread) and, as a sweep, on a schedule (Celery beat) for rows a crash or a
Redis outage left behind. Without an events Redis (eager mode) the rows are
delivered in process instead (``eager``)::

    relay_pending(using="files")           # after commit: everything pending there
    sweep(min_age=2.0)                     # rows older than 2 s, in every swept alias

Which databases a process sweeps: ``default`` and the aliases of the
services it serves (``swept_aliases``), never the outbox of a service it
does not serve: that unit's own processes hold its credentials and code.

Rows go out in id order, one relay at a time per database (a PostgreSQL
advisory lock; SQLite has one writer anyway): two relays taking disjoint
batches could append a key's later event before its earlier one.
"""

from __future__ import annotations

import datetime
import logging
import zlib

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from ucloud import serving
from ucloud.databases import aliases_for
from ucloud.events import broker, eager
from ucloud.events.background import BackgroundRelay
from ucloud.events.pending import take_pending
from ucloud.models import InboxEntry, OutboxEvent
from ucloud.settings import ucloud_settings

logger = logging.getLogger("ucloud.events")

# The advisory lock that serialises relays of one PostgreSQL database.
RELAY_LOCK = zlib.crc32(b"ucloud.events.relay")


def events_eager() -> bool:
    """True when events are delivered in process (no events Redis configured)."""
    eager_setting = ucloud_settings.EVENTS_EAGER
    if eager_setting is None:
        return broker.events_url() is None
    return bool(eager_setting)


def relay_pending(
    *, using: str = DEFAULT_DB_ALIAS, min_age: float = 0.0, limit: int | None = None
) -> int:
    """Relay unrelayed outbox rows (oldest first); return how many."""
    if events_eager():
        finished, due = eager.deliver_pending(using=using)
        if due is not None:
            background_relay.kick_later(using, due)
        return finished
    batch = int(ucloud_settings.STREAM_BATCH_SIZE)
    relayed = 0
    while limit is None or relayed < limit:
        size = batch if limit is None else min(batch, limit - relayed)
        count = _relay_batch(using, min_age, size)
        relayed += count
        if count < size:
            break
    return relayed


def swept_aliases() -> list[str]:
    """``default`` and the aliases of the services served here, ``default`` first."""
    aliases = aliases_for(serving.served_services())
    return aliases if DEFAULT_DB_ALIAS in aliases else [DEFAULT_DB_ALIAS, *aliases]


def sweep(*, min_age: float = 0.0) -> int:
    """Relay what is pending in every swept alias; return how many rows.

    A database that fails is logged and skipped: the others are still swept.
    """
    relayed = 0
    for alias in swept_aliases():
        try:
            relayed += relay_pending(using=alias, min_age=min_age)
        except Exception:
            logger.warning("Sweeping the outbox of %s failed", alias, exc_info=True)
    return relayed


def _relay_batch(using: str, min_age: float, size: int) -> int:
    client = broker.connect()
    with transaction.atomic(using=using):
        _one_relay_at_a_time(using)
        # Marked relayed in this transaction, appended before it commits: a
        # failure to append rolls the marks back and the rows stay pending.
        # A crash after appending sends them again; inboxes dedupe.
        rows = take_pending(using, size=size, min_age=min_age)
        if not rows:
            return 0
        broker.publish(client, rows)
    return len(rows)


def _one_relay_at_a_time(using: str) -> None:
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # The pending rows are read through the partial index in id
            # order, never by a bitmap scan: relaying a row leaves a dead
            # entry in that index until the next vacuum, which a bitmap scan
            # visits again on every batch (all 50,000 of a burst, 4-15 ms a
            # batch), while a plain index scan marks each one dead once and
            # skips it after. Nor does the commit wait for its WAL to reach
            # the disk (3-9 us a row of the relay's time here): if the
            # server crashed before it did, the marks would be lost and the
            # rows sent again, which the inboxes dedupe as they dedupe a
            # relay that dies between appending and committing. For this
            # transaction only.
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s), set_config('enable_bitmapscan', 'off', true), "
                "set_config('synchronous_commit', 'off', true)",
                [RELAY_LOCK],
            )


def relay_after_commit(alias: str) -> None:
    """The outbox's after-commit hook: relay on the background thread (with
    an events Redis, by default), or right here (eager mode: the first
    attempt of each event runs before the request returns)."""
    if not events_eager() and ucloud_settings.RELAY_IN_BACKGROUND:
        background_relay.kick(alias)
    else:
        relay_now(alias)


def relay_now(alias: str) -> None:
    """Relay now; a failure is logged and left to the sweep, never raised
    into the request whose transaction already committed."""
    try:
        relay_pending(using=alias)
    except Exception:
        logger.warning("Relay after commit failed; the sweep will retry", exc_info=True)


background_relay = BackgroundRelay(relay_now)


def prune_swept() -> tuple[int, int]:
    """``prune`` in every swept alias; the summed counts."""
    outbox = inbox = 0
    for alias in swept_aliases():
        pruned_outbox, pruned_inbox = prune(using=alias)
        outbox, inbox = outbox + pruned_outbox, inbox + pruned_inbox
    return outbox, inbox


def prune(*, using: str = DEFAULT_DB_ALIAS) -> tuple[int, int]:
    """Delete relayed outbox rows and inbox entries past their retention."""
    now = timezone.now()
    outbox_before = now - datetime.timedelta(seconds=ucloud_settings.OUTBOX_RETENTION)
    inbox_before = now - datetime.timedelta(seconds=ucloud_settings.INBOX_RETENTION)
    outbox, _ = (
        OutboxEvent.objects.using(using)
        .filter(relayed_at__isnull=False, relayed_at__lt=outbox_before)
        .delete()
    )
    inbox, _ = InboxEntry.objects.using(using).filter(handled_at__lt=inbox_before).delete()
    return outbox, inbox
