"""Produce sequenced probe events: --per-key events for each of --keys keys,
interleaved, one transaction per round, with random processing delays and
injected failures (seeded)::

    python manage.py probe_sequence --keys 50 --per-key 40 --max-delay-ms 20 --fail-share 0.05
"""

from __future__ import annotations

import json
import random
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from tests.events.probe.api import probe_sequence


class Command(BaseCommand):
    help = "Produce interleaved sequenced events for --keys keys."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--keys", type=int, required=True)
        parser.add_argument("--per-key", type=int, required=True)
        parser.add_argument("--max-delay-ms", type=int, default=0)
        parser.add_argument("--fail-share", type=float, default=0.0)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args: Any, **options: Any) -> None:
        chance = random.Random(options["seed"])
        failing = 0
        for seq in range(options["per_key"]):
            events = []
            for key in range(options["keys"]):
                fails = 1 if chance.random() < options["fail_share"] else 0
                failing += fails
                events.append(
                    {
                        "key": key,
                        "seq": seq,
                        "delay_ms": chance.randint(0, options["max_delay_ms"]),
                        "fail_times": fails,
                    }
                )
            with transaction.atomic():
                probe_sequence.produce_many(events)
        produced = options["keys"] * options["per_key"]
        self.stdout.write(json.dumps({"produced": produced, "failing": failing}))
