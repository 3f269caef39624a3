"""``GET /metrics``: this unit's metrics in Prometheus' text format.

Counters and histograms come from every process of the unit (gunicorn
workers, Celery workers) in multiprocess mode, else from this process;
consumer lag and outbox backlog are read from Redis and the unit's
databases at scrape time. The gateway does not route it: Prometheus scrapes
each unit (each replica) directly, and each worker on its own port when
it runs in a container of its own (``serve_worker_metrics``)::

    scrape_configs:
      - job_name: ucloud
        static_configs: [{targets: ["127.0.0.1:8001", "127.0.0.1:8002", "127.0.0.1:8003"]}]
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from ucloud.observe import live, metrics, window
from ucloud.rpc.error_mapping import reading_only

logger = logging.getLogger("ucloud.observe")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class StateCollector(Collector):
    """Gauges read when scraped: consumer lag and pending per stream and
    group served here, and outbox rows not relayed yet per database and stream."""

    def collect(self) -> Iterator[Metric]:
        lag = GaugeMetricFamily(
            "ucloud_events_lag",
            "Entries a consumer group has not read yet",
            labels=["stream", "group"],
        )
        pending = GaugeMetricFamily(
            "ucloud_events_pending",
            "Entries a consumer group read and has not acknowledged",
            labels=["stream", "group"],
        )
        try:
            for row in live.lags():
                lag.add_metric([row["stream"], row["group"]], row["lag"])
                pending.add_metric([row["stream"], row["group"]], row["pending"])
        except Exception:  # Redis down: the other metrics still count
            logger.warning("Consumer lag unavailable for /metrics", exc_info=True)
        backlog = GaugeMetricFamily(
            "ucloud_outbox_backlog",
            "Outbox rows not relayed yet",
            labels=["database", "stream"],
        )
        try:
            for row in live.outbox_backlog():
                backlog.add_metric([row["database"], row["stream"]], row["pending"])
        except Exception:  # a database down: the other metrics still count
            logger.warning("Outbox backlog unavailable for /metrics", exc_info=True)
        yield from (lag, pending, backlog)


def process_registry() -> CollectorRegistry:
    """The counters and histograms of this unit's processes (all of them in
    multiprocess mode, else this one)."""
    directory = metrics.multiprocess_dir()
    if directory is None:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return registry


def exposition() -> bytes:
    """The text Prometheus scrapes."""
    state = CollectorRegistry()
    state.register(StateCollector())
    return generate_latest(process_registry()) + generate_latest(state)


def serve_worker_metrics(port: int, host: str = "0.0.0.0") -> tuple[Any, threading.Thread]:
    """Serve the counters of a worker's processes on ``port`` (``/metrics``).

    A worker in its own container (compose, Kubernetes) shares no metrics
    folder with its unit's web processes, so it answers scrapes itself. Lag
    and outbox backlog stay with the web processes' ``/metrics`` (they are
    read from Redis and the databases, the same for every process)::

        server, thread = serve_worker_metrics(9108)   # then: celery worker_main
    """
    return start_http_server(port, addr=host, registry=process_registry())


@reading_only  # other methods get the kit's JSON 405
def metrics_view(request: HttpRequest) -> HttpResponse:
    # A scrape is as good a moment as any for the admin's window snapshot.
    window.snapshots.take()
    return HttpResponse(exposition(), content_type=CONTENT_TYPE)
