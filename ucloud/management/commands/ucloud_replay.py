"""Replay events kept in the outbox: relay them again to every consumer group.

Consumers skip what their inbox says they already handled, so a replay is
safe; use it after a broker lost messages (a Redis without persistence that
restarted) or to feed a new consumer::

    python manage.py ucloud_replay --stream files.events --since 2026-11-27T10:00:00Z

Without ``--database`` it replays the outbox of every database this process
sweeps: ``default`` and the aliases of the services it serves.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime

from ucloud.models import OutboxEvent
from ucloud.relay import relay_pending, swept_aliases
from ucloud.streams import streams


class Command(BaseCommand):
    help = "Relay outbox events again (from --since, optionally of one --stream)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", required=True, help="ISO 8601 time, e.g. 2026-11-27T10:00Z")
        parser.add_argument("--until", help="ISO 8601 time (default: now)")
        parser.add_argument("--stream", help="Only this stream, e.g. files.events")
        parser.add_argument(
            "--database",
            help="Only this alias (default: every alias whose outbox this process sweeps).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        since = self._time(options["since"], "--since")
        until = self._time(options["until"], "--until") if options["until"] else None
        if options["stream"] and options["stream"] not in streams():
            known = ", ".join(sorted(streams())) or "none"
            raise CommandError(f"Unknown stream {options['stream']!r}; known: {known}")
        aliases = [options["database"]] if options["database"] else swept_aliases()
        for alias in aliases:
            rows = self._kept(alias, since, until, options["stream"])
            marked = rows.update(relayed_at=None)
            relayed = relay_pending(using=alias)
            where = f" in {alias}" if len(aliases) > 1 else ""
            self.stdout.write(f"Marked {marked} event(s) for replay{where}; relayed {relayed}.")

    def _kept(
        self, alias: str, since: Any, until: Any, stream: str | None
    ) -> QuerySet[OutboxEvent]:
        rows = OutboxEvent.objects.using(alias).filter(
            created_at__gte=since, relayed_at__isnull=False
        )
        if until is not None:
            rows = rows.filter(created_at__lt=until)
        if stream:
            rows = rows.filter(stream=stream)
        return rows

    def _time(self, value: str, flag: str) -> Any:
        parsed = parse_datetime(value)
        if parsed is None:
            raise CommandError(f"{flag} {value!r} is not an ISO 8601 date and time")
        if parsed.tzinfo is None:
            raise CommandError(f"{flag} {value!r} needs a time zone, e.g. a trailing Z")
        return parsed
