"""Start a Celery worker for the consumer groups of the services served here.

The worker consumes ``ucloud.<service>`` for each served service that has
processors, ``ucloud.relay.<service>`` for each served service that produces
or consumes events (the sweep of its outbox), and ``ucloud.relay``;
``--beat`` embeds the scheduler::

    UCLOUD_SERVICES=notifications python manage.py ucloud_worker --beat
"""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ucloud import topology
from ucloud.processors import processors
from ucloud.relay import queue_of
from ucloud.tasks import RELAY_QUEUE, relay_queue_of, services_with_event_tables


def worker_queues() -> list[str]:
    """``ucloud.relay``, the queues of the served consumer groups, and the
    relay queues of the served services that have event tables."""
    served = topology.served_services()
    groups = sorted({p.group for p in processors().values() if p.group in served})
    swept = [name for name in services_with_event_tables() if name in served]
    return [
        RELAY_QUEUE,
        *(queue_of(group) for group in groups),
        *(relay_queue_of(name) for name in swept),
    ]


class Command(BaseCommand):
    help = "Run a Celery worker for the event processors of the services served here."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--beat", action="store_true", help="Also run the scheduler.")
        parser.add_argument("--concurrency", type=int, default=2, help="Worker processes.")
        parser.add_argument("--loglevel", default="INFO")
        parser.add_argument(
            "--print-queues", action="store_true", help="Print the queues and exit."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        queues = worker_queues()
        if options["print_queues"]:
            self.stdout.write(",".join(queues))
            return
        if not getattr(settings, "CELERY_BROKER_URL", None):
            raise CommandError(
                "CELERY_BROKER_URL is not set: without a broker, events are processed "
                "eagerly inside the web process and no worker is needed."
            )
        argv = [
            "worker",
            f"--queues={','.join(queues)}",
            f"--concurrency={options['concurrency']}",
            f"--loglevel={options['loglevel']}",
            # Workers need no gossip with each other; skipping it starts
            # them faster and avoids noise after a broker restart.
            "--without-gossip",
            "--without-mingle",
        ]
        if options["beat"]:
            argv.append("--beat")
        current_app.worker_main(argv=argv)
