"""Show the event streams and how far each consumer group is behind.

One line per stream and consumer group, summed over the stream's
partitions: live consumers, entries delivered but not acknowledged
(pending), entries not delivered yet (lag), and the age of the oldest entry
not yet acknowledged::

    python manage.py ucloud_streams
    python manage.py ucloud_streams --json
"""

from __future__ import annotations

import json
from typing import Any

import redis
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ucloud.events import broker
from ucloud.events.lag import group_lags
from ucloud.events.relay import events_eager

HEADER = ("stream", "group", "consumers", "pending", "lag", "oldest")


class Command(BaseCommand):
    help = "Streams, consumer groups, consumers, pending entries and lag."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")

    def handle(self, *args: Any, **options: Any) -> None:
        if events_eager():
            raise CommandError(
                "Events are delivered eagerly (no UCLOUD_EVENTS_URL or Redis "
                "CELERY_BROKER_URL): there are no streams to show."
            )
        try:
            rows = group_lags(broker.connect())
        except redis.RedisError as exc:
            raise CommandError(f"The events Redis did not answer: {exc}") from exc
        if options["json"]:
            data = [{"stream": r.stream, "group": r.group, **r.as_dict()} for r in rows]
            self.stdout.write(json.dumps(data, indent=2))
            return
        lines = [HEADER]
        for row in rows:
            oldest = "-" if row.oldest_age is None else f"{row.oldest_age:.1f}s"
            missing = f" (absent on {row.missing_partitions} partitions)"
            group = row.group + (missing if row.missing_partitions else "")
            lines.append(
                (row.stream, group, str(row.consumers), str(row.pending), str(row.lag), oldest)
            )
        widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
        for line in lines:
            cells = (cell.ljust(width) for cell, width in zip(line, widths, strict=True))
            self.stdout.write("  ".join(cells).rstrip())
        if len(lines) == 1:
            self.stdout.write("No stream has a consumer group.")
