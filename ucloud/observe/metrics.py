"""Prometheus metrics of the kit: calls, events, locks.

Per call and side, labelled by service, call, transport (``local`` for an
in-process call, ``remote`` for HTTP) and status, a counter and a latency
histogram; the client side also names the calling service. Events produced,
processed, retried and dead-lettered per stream (and group); lock
acquisitions, waits and losses. Consumer lag and outbox backlog are read
when ``/metrics`` is scraped (``ucloud.observe.exposition``).

Under gunicorn and in Celery workers every process writes its values to
files in ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess
mode, chosen when the variable is set before the first metric exists);
``/metrics`` sums them::

    SERVER_CALLS.labels("files", "files.share", "local", "200").inc()
    CLIENT_SECONDS.labels("files", "accounts", "accounts.retrieve_user", "remote").observe(0.004)
"""

from __future__ import annotations

import os
from bisect import bisect_left

from prometheus_client import Counter, Histogram

# Seconds; Prometheus' defaults start at 5 ms, in-process calls take less.
LATENCY_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
LOCK_WAIT_BUCKETS = (0.001, 0.005, 0.025, 0.1, 0.5, 1.0, 5.0, 30.0)

SERVER_LABELS = ("service", "call", "transport")
CLIENT_LABELS = ("caller", "service", "call", "transport")

SERVER_CALLS = Counter(
    "ucloud_rpc_server_requests",
    "Calls answered, by the callee",
    [*SERVER_LABELS, "status"],
)
SERVER_SECONDS = Histogram(
    "ucloud_rpc_server_request_seconds",
    "Time the callee spent on a call (pipeline: checks, handler, serialization)",
    SERVER_LABELS,
    buckets=LATENCY_BUCKETS,
)
CLIENT_CALLS = Counter(
    "ucloud_rpc_client_requests",
    "Calls made, by the caller (caller: the calling service, '' outside services)",
    [*CLIENT_LABELS, "status"],
)
CLIENT_SECONDS = Histogram(
    "ucloud_rpc_client_request_seconds",
    "Time a call took as the caller saw it (transport included)",
    CLIENT_LABELS,
    buckets=LATENCY_BUCKETS,
)

EVENTS_PRODUCED = Counter(
    "ucloud_events_produced", "Events written to the outbox", ["stream"]
)  # fmt: skip
EVENTS_PROCESSED = Counter(
    "ucloud_events_processed", "Events a processor handled", ["stream", "group"]
)
EVENTS_RETRIED = Counter(
    "ucloud_events_retried", "Failed attempts that will be tried again", ["stream", "group"]
)
EVENTS_DEAD = Counter(
    "ucloud_events_dead_lettered", "Events that became dead letters", ["stream", "group"]
)

LOCK_ACQUISITIONS = Counter(
    "ucloud_lock_acquisitions",
    "Attempts to take a lock (outcome: acquired, busy, timeout)",
    ["lock", "backend", "outcome"],
)
LOCK_WAIT_SECONDS = Histogram(
    "ucloud_lock_wait_seconds",
    "Time spent waiting for a lock, whatever the outcome",
    ["lock", "backend"],
    buckets=LOCK_WAIT_BUCKETS,
)
LOCK_LOSSES = Counter(
    "ucloud_lock_losses", "Locks found lost on renew or release", ["lock", "backend"]
)

CALL_METRICS = (SERVER_CALLS, SERVER_SECONDS, CLIENT_CALLS, CLIENT_SECONDS)


class CallSeries:
    """One call's counter (of a status) and latency histogram, on one side.

    Every observed call counts once and observes its time once, on both
    sides. prometheus-client's ``inc`` and ``observe`` check each time what
    holds for a labelled child by construction (observable, a non-negative
    amount) and find the bucket in a Python loop; this writes the same
    values (the children's counter, sum and bucket, pinned prometheus-client
    fields) with the bucket found by bisection: the same ``<=`` rule, fewer
    Python calls on every call. Without those fields (another version), it
    goes through the public methods::

        series = CallSeries(SERVER_CALLS.labels(*labels, "200"), SERVER_SECONDS.labels(*labels))
        series.add(0.0012)
    """

    __slots__ = ("bounds", "buckets", "count", "counter", "histogram", "total")

    def __init__(self, counter: Counter, histogram: Histogram) -> None:
        self.counter, self.histogram = counter, histogram
        self.count = getattr(counter, "_value", None)
        self.total = getattr(histogram, "_sum", None)
        self.buckets = getattr(histogram, "_buckets", None)
        self.bounds = getattr(histogram, "_upper_bounds", None)

    def add(self, seconds: float) -> None:
        count, total, buckets, bounds = self.count, self.total, self.buckets, self.bounds
        if count is None or total is None or buckets is None or bounds is None:
            self.counter.inc()
            self.histogram.observe(seconds)
            return
        count.inc(1)
        total.inc(seconds)
        # The first bound >= seconds, as observe's loop finds it; the last is +Inf.
        buckets[bisect_left(bounds, seconds)].inc(1)


def multiprocess_dir() -> str | None:
    """The directory of multiprocess mode, when this process writes there."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def _ensure_multiprocess_dir() -> None:
    # prometheus-client writes a file there at a metric's first value; the
    # folder of a fresh unit (or container /tmp) does not exist yet.
    directory = multiprocess_dir()
    if directory is not None:
        os.makedirs(directory, exist_ok=True)


_ensure_multiprocess_dir()
