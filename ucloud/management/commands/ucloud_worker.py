"""Start a Celery worker for the services served here: their stream consumers
and their periodic tasks.

Each pool process consumes the event streams of the consumer groups served
here (``ucloud.events.worker``), so ``--concurrency`` is the number of
consumers per group in this worker. Celery itself consumes ``ucloud.relay``,
``ucloud.<service>`` (the service's own periodic tasks) and
``ucloud.relay.<service>`` (the sweep and pruning of its outbox) for each
served service; ``--beat`` embeds the scheduler; ``--metrics-port`` (or
``UCLOUD_WORKER_METRICS_PORT``) serves the worker's metrics for Prometheus::

    UCLOUD_SERVICES=notifications python manage.py ucloud_worker --beat
    python manage.py ucloud_worker --metrics-port 9108      # in a container of its own
"""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ucloud import registry, serving
from ucloud.events.broker import events_url
from ucloud.events.tasks import RELAY_QUEUE, queue_of, relay_queue_of, services_with_event_tables
from ucloud.observe.exposition import serve_worker_metrics
from ucloud.settings import ucloud_settings


def worker_queues() -> list[str]:
    """``ucloud.relay``, the task queues of the served services, and the relay
    queues of the served services that have event tables."""
    served = serving.served_services()
    own = sorted(name for name in registry.services() if name in served)
    swept = [name for name in services_with_event_tables() if name in served]
    return [
        RELAY_QUEUE,
        *(queue_of(name) for name in own),
        *(relay_queue_of(name) for name in swept),
    ]


class Command(BaseCommand):
    help = "Run a Celery worker: stream consumers and periodic tasks of the services served here."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--beat", action="store_true", help="Also run the scheduler.")
        parser.add_argument(
            "--concurrency",
            type=int,
            default=2,
            help="Worker processes; each consumes the streams of every served group.",
        )
        parser.add_argument("--loglevel", default="INFO")
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=None,
            help="Serve the worker's metrics on this port (default: UCLOUD_WORKER_METRICS_PORT; "
            "0: not served).",
        )
        parser.add_argument(
            "--print-queues", action="store_true", help="Print the queues and exit."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        queues = worker_queues()
        if options["print_queues"]:
            self.stdout.write(",".join(queues))
            return
        if not getattr(settings, "CELERY_BROKER_URL", None) or events_url() is None:
            raise CommandError(
                "CELERY_BROKER_URL (a Redis URL, or UCLOUD_EVENTS_URL beside it) is not set: "
                "without Redis, events are processed eagerly inside the web process and no "
                "worker is needed."
            )
        argv = [
            "worker",
            "--pool=prefork",
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
        port = options["metrics_port"]
        if port is None:
            port = int(ucloud_settings.WORKER_METRICS_PORT or 0)
        if port:
            # In the main process, before Celery forks its pool: the pool
            # processes write their counters to the multiprocess folder and
            # this thread sums them when scraped.
            serve_worker_metrics(port)
            self.stdout.write(f"metrics of this worker on port {port} (/metrics)")
        current_app.worker_main(argv=argv)
