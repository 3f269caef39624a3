"""The relay: moves committed outbox rows to every consumer group.

Runs right after each producing transaction commits and, as a sweep, on a
schedule (Celery beat) for rows a crash or a broker outage left behind. With
a broker, one Celery message carries a batch of events to a group's queue;
in the embedded (eager) mode, the batch is delivered in process::

    relay_pending(using="files")           # after commit: everything pending there
    sweep(min_age=2.0)                     # rows older than 2 s, in every swept alias

Which databases a process sweeps: ``default`` and the aliases of the
services it serves (``swept_aliases``), never the outbox of a service it
does not serve: that unit's own processes hold its credentials and code.
The beat's sweep message goes to the shared ``ucloud.relay`` queue, so in
a split deployment each sweep covers the unit whose worker took it.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from ucloud import delivery, topology
from ucloud.databases import aliases_for
from ucloud.models import OutboxEvent
from ucloud.processors import groups_of
from ucloud.settings import ucloud_settings

logger = logging.getLogger("ucloud.streams")


def events_eager() -> bool:
    """True when events are delivered in process (no broker configured)."""
    eager = ucloud_settings.EVENTS_EAGER
    if eager is None:
        return not getattr(settings, "CELERY_BROKER_URL", None)
    return bool(eager)


def queue_of(group: str) -> str:
    return f"ucloud.{group}"


def relay_pending(
    *, using: str = DEFAULT_DB_ALIAS, min_age: float = 0.0, limit: int | None = None
) -> int:
    """Relay unrelayed outbox rows (oldest first); return how many."""
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
    aliases = aliases_for(topology.served_services())
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
    pending = OutboxEvent.objects.using(using).filter(relayed_at__isnull=True)
    if min_age:
        cutoff = timezone.now() - datetime.timedelta(seconds=min_age)
        pending = pending.filter(created_at__lte=cutoff)
    # Plain tuples, not model instances: the relay only forwards the rows,
    # and building models costs as much as the query itself.
    selected = pending.order_by("id").values_list(*_COLUMNS)
    if events_eager():
        # Deliver first, mark after: a crash in between re-delivers on the
        # next relay, and the inboxes skip what was already handled.
        rows = [_message(row) for row in selected[:size]]
        deliver_in_process(rows)
        _mark_relayed(using, rows)
        return len(rows)
    if connections[using].features.has_select_for_update_skip_locked:
        # Concurrent relays (after-commit kicks, the sweep) take disjoint rows.
        selected = selected.select_for_update(skip_locked=True)
    with transaction.atomic(using=using):
        rows = [_message(row) for row in selected[:size]]
        # Publish before marking: a failure rolls back and the rows stay
        # pending. A crash after publishing re-sends them; inboxes dedupe.
        publish(rows)
        _mark_relayed(using, rows)
    return len(rows)


_COLUMNS = ("id", "event_id", "stream", "key", "payload", "created_at")


@dataclass(frozen=True)
class _Row:
    """An outbox row on its way out: its id and the message consumers get."""

    id: int
    stream: str
    message: dict[str, Any]


def _message(row: tuple[Any, ...]) -> _Row:
    row_id, event_id, stream, key, payload, created_at = row
    message = {
        "event_id": str(event_id),
        "stream": stream,
        "key": key,
        "payload": payload,
        "produced_at": created_at.isoformat() if created_at else None,
    }
    return _Row(row_id, stream, message)


def _mark_relayed(using: str, rows: list[_Row]) -> None:
    if rows:
        OutboxEvent.objects.using(using).filter(id__in=[row.id for row in rows]).update(
            relayed_at=timezone.now()
        )


def _by_group(rows: list[_Row]) -> dict[str, list[dict[str, Any]]]:
    messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
    # The groups of a stream, looked up once per batch rather than per row.
    groups: dict[str, list[str]] = {}
    for row in rows:
        if row.stream not in groups:
            groups[row.stream] = groups_of(row.stream)
        for group in groups[row.stream]:
            messages[group].append(row.message)
    return messages


def publish(rows: list[_Row]) -> None:
    """Send one Celery message per consumer group with the rows' events."""
    from ucloud.tasks import deliver_events

    for group, messages in _by_group(rows).items():
        deliver_events.apply_async(args=[group, messages], queue=queue_of(group))


def deliver_in_process(rows: list[_Row]) -> None:
    for group, messages in _by_group(rows).items():
        try:
            delivery.deliver(group, messages)
        except Exception:
            # A processor bug must not break the producer; the events stay
            # in the outbox (relayed) and can be replayed.
            logger.exception("In-process delivery to %s failed", group)


def prune_swept() -> tuple[int, int]:
    """``prune`` in every swept alias; the summed counts."""
    outbox = inbox = 0
    for alias in swept_aliases():
        pruned_outbox, pruned_inbox = prune(using=alias)
        outbox, inbox = outbox + pruned_outbox, inbox + pruned_inbox
    return outbox, inbox


def prune(*, using: str = DEFAULT_DB_ALIAS) -> tuple[int, int]:
    """Delete relayed outbox rows and inbox entries past their retention."""
    from ucloud.models import InboxEntry

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
