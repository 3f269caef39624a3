"""The live state of this unit: locks held, consumer lag, dead letters, outbox
backlog, inboxes and ``/status``, read from its own databases and Redis.

Each unit answers for itself (the kit call ``ucloud.live``); the admin asks
every unit, so it never needs another unit's database address. Dead letters
are listed and retried here, in the unit that holds them and runs their
processors::

    state = live_state()           # {"locks": [...], "lags": [...], "outbox": [...], ...}
    describe_this_unit()           # {"services": [...], "databases": {...}, "redis": True, ...}
    retry_letters([("notifications", 7)])   # [{"database": ..., "id": 7, "handled": True}]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import Count, Max, Min
from django.utils import timezone

from ucloud import serving
from ucloud.databases import aliases_for
from ucloud.events import broker
from ucloud.events.delivery import first_line, retry_or_reason
from ucloud.events.lag import group_lags
from ucloud.events.relay import events_eager, swept_aliases
from ucloud.health import status_report
from ucloud.locks.lock import get_backend
from ucloud.models import DeadLetter, InboxEntry, OutboxEvent
from ucloud.settings import ucloud_settings

# Dead letters listed at once per unit.
LETTERS_LIMIT = 200


def _guarded(read: Callable[[], Any]) -> dict[str, Any]:
    """``{"items": ...}``, or ``{"error": ...}`` when the store is down:
    one broken store must not hide the rest of the page."""
    try:
        return {"items": read()}
    except Exception as exc:  # any driver error: show it, go on
        return {"error": f"{type(exc).__name__}: {first_line(str(exc))}"[:300]}


def locks_held() -> list[dict[str, Any]]:
    backend = get_backend()
    return [
        {
            "name": held.name,
            "holder": held.holder,
            "fencing_token": held.fencing_token,
            "time_left_s": None if held.time_left is None else round(held.time_left, 3),
            "backend": backend.name,
        }
        for held in backend.held_locks()
    ]


def lags() -> list[dict[str, Any]]:
    """Per stream and group served here: consumers, pending, lag, oldest age."""
    if events_eager():
        return []
    rows = group_lags(broker.connect(), groups=serving.served_services())
    return [{"stream": row.stream, "group": row.group, **row.as_dict()} for row in rows]


def _age(moment: Any) -> float | None:
    return None if moment is None else round((timezone.now() - moment).total_seconds(), 3)


def outbox_backlog() -> list[dict[str, Any]]:
    """Rows not relayed yet, per database and stream, with the oldest one's age."""
    found = []
    for alias in swept_aliases():
        pending = OutboxEvent.objects.using(alias).filter(relayed_at__isnull=True)
        rows = pending.values("stream").annotate(rows=Count("id"), oldest=Min("created_at"))
        for row in rows.order_by("stream"):
            found.append(
                {
                    "database": alias,
                    "stream": row["stream"],
                    "pending": row["rows"],
                    "oldest_age_s": _age(row["oldest"]),
                }
            )
    return found


def inboxes() -> list[dict[str, Any]]:
    """Events each processor recorded as handled (within retention)."""
    found = []
    for alias in swept_aliases():
        rows = InboxEntry.objects.using(alias).values("consumer")
        for row in rows.annotate(handled=Count("id"), last=Max("handled_at")).order_by("consumer"):
            found.append(
                {
                    "database": alias,
                    "consumer": row["consumer"],
                    "handled": row["handled"],
                    "last_age_s": _age(row["last"]),
                }
            )
    return found


def dead_letter_counts() -> list[dict[str, Any]]:
    """Unresolved dead letters per database, stream and consumer."""
    found = []
    for alias in swept_aliases():
        open_letters = DeadLetter.objects.using(alias).filter(resolved_at__isnull=True)
        rows = open_letters.values("stream", "consumer").annotate(letters=Count("id"))
        for row in rows.order_by("stream", "consumer"):
            found.append({"database": alias, **row})
    return found


def live_state() -> dict[str, Any]:
    body, healthy = status_report()
    return {
        "status": {"healthy": healthy, **body},
        "locks": _guarded(locks_held),
        "lags": _guarded(lags),
        "events_mode": "eager" if events_eager() else "streams",
        "outbox": _guarded(outbox_backlog),
        "inboxes": _guarded(inboxes),
        "dead_letters": _guarded(dead_letter_counts),
    }


def dead_letters(*, resolved: bool = False, limit: int = LETTERS_LIMIT) -> list[dict[str, Any]]:
    """The newest dead letters of this unit's databases (unresolved, or resolved)."""
    found: list[dict[str, Any]] = []
    for alias in swept_aliases():
        letters = DeadLetter.objects.using(alias).filter(resolved_at__isnull=not resolved)
        for letter in letters.order_by("-id")[:limit]:
            found.append(
                {
                    "database": alias,
                    "id": letter.id,
                    "consumer": letter.consumer,
                    "stream": letter.stream,
                    "key": letter.key,
                    "event_id": str(letter.event_id),
                    "error": first_line(letter.error)[:300],
                    "attempts": letter.attempts,
                    "failed_at": letter.failed_at.isoformat(),
                    "resolved_at": letter.resolved_at.isoformat() if letter.resolved_at else None,
                    "payload": letter.payload,
                }
            )
    found.sort(key=lambda letter: letter["failed_at"], reverse=True)
    return found[:limit]


def retry_letters(letters: Iterable[tuple[str, int]]) -> list[dict[str, Any]]:
    """Retry each (database, id) once; what became of it."""
    aliases = set(swept_aliases())
    results = []
    for alias, letter_id in letters:
        outcome: dict[str, Any] = {"database": alias, "id": letter_id}
        letter = (
            DeadLetter.objects.using(alias).filter(id=letter_id).first()
            if alias in aliases
            else None
        )
        if letter is None:
            outcome.update(handled=False, reason="no such dead letter in this unit")
        elif letter.resolved_at is not None:
            outcome.update(handled=True, reason="already resolved")
        else:
            reason = retry_or_reason(letter)
            outcome.update(handled=reason is None, reason=reason or "")
        results.append(outcome)
    return results


def describe_this_unit() -> dict[str, Any]:
    """What ``ucloud.describe`` answers: services, databases and stores."""
    served = sorted(serving.served_services())
    databases = {}
    for alias in aliases_for(served):
        name = str(connections[alias].settings_dict.get("NAME") or "")
        vendor = connections[alias].vendor
        # A file path says nothing useful across machines: its name will do.
        databases[alias] = {
            "vendor": vendor,
            "name": Path(name).name if vendor == "sqlite" else name,
        }
    return {
        "services": served,
        "databases": databases,
        "redis": bool(ucloud_settings.REDIS_URL) or not events_eager(),
        "events": "eager" if events_eager() else "streams",
        "search": "elasticsearch" if getattr(settings, "ELASTICSEARCH_URL", None) else "",
    }
