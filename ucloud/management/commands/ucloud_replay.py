"""Deliver events again: to every group from the outbox, or to one group from its stream.

From the outbox (every consumer group; inboxes skip what each already
handled): after Redis lost entries it had accepted (a Redis without
persistence that restarted), or when the stream no longer holds them::

    python manage.py ucloud_replay --since 2026-11-27T10:00:00Z --stream files.events

To one group only, from what the streams still hold: the group reads every
partition again from ``--since``, in order; events it handled before are
skipped by its inbox, dead-lettered ones get another chance::

    python manage.py ucloud_replay --group notifications --since 2026-11-27T10:00:00Z

Without ``--database`` the outbox replay covers every database this
process sweeps: ``default`` and the aliases of the services it serves.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime

from ucloud.events import broker
from ucloud.events.processors import groups_of, streams_of
from ucloud.events.relay import events_eager, relay_pending, swept_aliases
from ucloud.events.streams import streams
from ucloud.models import OutboxEvent


class Command(BaseCommand):
    help = "Deliver events again: from the outbox to every group, or from the streams to --group."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", required=True, help="ISO 8601 time, e.g. 2026-11-27T10:00Z")
        parser.add_argument("--until", help="ISO 8601 time (default: now); outbox replay only")
        parser.add_argument("--stream", help="Only this stream, e.g. files.events")
        parser.add_argument("--group", help="Only this consumer group, from the streams")
        parser.add_argument(
            "--database",
            help="Only this alias (default: every alias whose outbox this process sweeps).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        since = self._time(options["since"], "--since")
        until = self._time(options["until"], "--until") if options["until"] else None
        stream = options["stream"]
        if stream and stream not in streams():
            known = ", ".join(sorted(streams())) or "none"
            raise CommandError(f"Unknown stream {stream!r}; known: {known}")
        if options["group"]:
            if until is not None or options["database"]:
                raise CommandError("--until and --database apply to the outbox replay only")
            self.rewind(options["group"], since, stream)
            return
        aliases = [options["database"]] if options["database"] else swept_aliases()
        for alias in aliases:
            rows = self._kept(alias, since, until, stream)
            marked = rows.update(relayed_at=None, eager_done_at=None, eager_retry_at=None)
            relayed = relay_pending(using=alias)
            where = f" in {alias}" if len(aliases) > 1 else ""
            self.stdout.write(f"Marked {marked} event(s) for replay{where}; relayed {relayed}.")

    def rewind(self, group: str, since: datetime.datetime, stream: str | None) -> None:
        if events_eager():
            raise CommandError("--group needs the events Redis (UCLOUD_EVENTS_URL or a broker)")
        consumed = [s.name for s in streams_of(group)]
        if not consumed:
            groups = sorted({g for name in streams() for g in groups_of(name)})
            raise CommandError(f"No consumer group {group!r}; known: {', '.join(groups)}")
        if stream and stream not in consumed:
            raise CommandError(f"Group {group!r} does not consume {stream!r}")
        client = broker.connect()
        since_ms = int(since.timestamp() * 1000)
        late = 0
        for name in [stream] if stream else consumed:
            for key in broker.partition_keys(name):
                broker.ensure_group(client, key, group, beginning=True)
                if not broker.rewind(client, key, group, since_ms):
                    late += 1
            self.stdout.write(f"Group {group} reads {name} again from {since.isoformat()}.")
        if late:
            self.stderr.write(
                f"{late} partition(s) trimmed events that may be that recent; replay those "
                "from the outbox: ucloud_replay --since ... (without --group)."
            )

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
