"""Rebuild search indexes without downtime, and show how they stand.

``--rebuild`` fills a new index for each document of the services served
here (or of ``--service``), catches up on the events produced meanwhile and
switches the alias (``ucloud.search.rebuild``); on a terminal it draws a
progress bar with the rows done, the rate and the time left. ``--status``
lists each index: backend, alias, concrete indices with their document
counts, and how many events the indexer has not handled yet::

    python manage.py ucloud_search --rebuild --service files
    python manage.py ucloud_search --status
"""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_elasticsearch_dsl import Document

from ucloud import registry, serving
from ucloud.search.documents import documents, spec_of
from ucloud.search.rebuild import rebuild, status

BAR_WIDTH = 30


class ProgressBar:
    """``[#####.....]  12,000/100,000  4,100/s  0:21 left`` on one line."""

    def __init__(self, stream: Any, label: str) -> None:
        self.stream = stream
        self.label = label
        self.started = time.monotonic()
        self.shown = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.shown < 0.1:
            return  # a terminal needs no more than ten updates a second
        self.shown = now
        elapsed = max(now - self.started, 1e-6)
        rate = done / elapsed
        left = (total - done) / rate if rate else 0.0
        filled = BAR_WIDTH * done // total if total else BAR_WIDTH
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
            f"{done:,}/{total:,}  {rate:,.0f}/s  {_clock(left)} left "
        )
        self.stream.flush()


def _clock(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


class Command(BaseCommand):
    help = "Rebuild search indexes (new index, catch-up, alias switch) or show their status."

    def add_arguments(self, parser: CommandParser) -> None:
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--rebuild", action="store_true", help="Rebuild the indexes.")
        action.add_argument("--status", action="store_true", help="Show indexes, counts, lag.")
        parser.add_argument("--service", help="Only the documents of this service.")

    def selected(self, service: str | None) -> list[type[Document]]:
        if service is not None and service not in registry.services():
            raise CommandError(
                f"No service {service!r}; installed: {', '.join(registry.services())}"
            )
        served = serving.served_services()
        found = [
            document
            for document in documents()
            if (spec_of(document).service == service)
            or (service is None and spec_of(document).service in served)
        ]
        if not found:
            raise CommandError(f"No documents to index for {service or 'the services served here'}")
        return found

    def handle(self, *args: Any, **options: Any) -> None:
        chosen = self.selected(options["service"])
        if options["status"]:
            self.show_status(chosen)
            return
        for document in chosen:
            spec = spec_of(document)
            terminal = sys.stdout.isatty() and self.stdout._out is sys.stdout
            bar = ProgressBar(self.stdout._out, spec.alias) if terminal else None
            report = rebuild(document, progress=bar)
            if bar is not None:
                self.stdout.write("")
            self.stdout.write(
                f"{spec.alias}: {report.documents:,} document(s) into {report.index}, "
                f"{report.caught_up:,} caught up, alias switched"
                + (f", dropped {', '.join(report.dropped)}" if report.dropped else "")
            )

    def show_status(self, chosen: list[type[Document]]) -> None:
        for document in chosen:
            found = status(document)
            lag = "unknown" if found.lag is None else f"{found.lag:,}"
            self.stdout.write(
                f"{found.alias} ({found.service}, {found.backend}): alias -> "
                f"{found.current or '?'}, lag {lag}"
                + (f", ERROR {found.error}" if found.error else "")
            )
            for info in found.indices:
                marker = " *" if info.aliases else ""
                self.stdout.write(f"  {info.name}: {info.documents:,} document(s){marker}")
