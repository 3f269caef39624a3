"""Produce numbered probe events in several transactions, as a producer would.

Prints one JSON line: the producer's pid, how many events it produced, and
how many effects were visible inside the producing transactions (must be 0:
processors run after commit)::

    python manage.py probe_produce --count 2000 --transactions 8 --hold 1100
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from tests.events.probe.api import probe_events
from tests.events.probe.models import Effect


class Command(BaseCommand):
    help = "Produce probe events numbered --start .. --start+--count-1."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, required=True)
        parser.add_argument("--start", type=int, default=0)
        parser.add_argument("--transactions", type=int, default=1)
        parser.add_argument("--hold", type=int, action="append", default=[])
        parser.add_argument("--poison", type=int, action="append", default=[])
        # A pause after each transaction, so that production lasts a while.
        parser.add_argument("--pause-ms", type=int, default=0)

    def handle(self, *args: Any, **options: Any) -> None:
        numbers = list(range(options["start"], options["start"] + options["count"]))
        parts = max(1, options["transactions"])
        # At least 1: a chaos run whose killed producer committed everything
        # before dying asks the fresh one for --count 0.
        size = max(1, -(-len(numbers) // parts))
        seen_before_commit = 0
        for begin in range(0, len(numbers), size):
            chunk = numbers[begin : begin + size]
            events = [
                {
                    "number": n,
                    "hold": n in options["hold"],
                    "poison": n in options["poison"],
                }
                for n in chunk
            ]
            with transaction.atomic():
                probe_events.produce_many(events)
                seen_before_commit += Effect.objects.filter(number__in=chunk).count()
            time.sleep(options["pause_ms"] / 1000)
        report = {
            "pid": os.getpid(),
            "produced": len(numbers),
            "effects_before_commit": seen_before_commit,
        }
        self.stdout.write(json.dumps(report))
