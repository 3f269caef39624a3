"""The producer side of the events benchmark, in a process of its own.

``bench/events.py`` starts it with the bench settings, a migrated database
and a running Celery worker; it prints one JSON line with its measurements::

    DJANGO_SETTINGS_MODULE=bench.events_settings DATABASE_URL=... CELERY_BROKER_URL=... \\
        .venv/bin/python -m bench.events_kit --events 50000 --tasks 5000

* kit end to end: ``produce_many`` in transactions, the relay appending to
  Redis Streams after commit, a no-op batched processor in the worker's
  stream consumers; until the last inbox entry exists; on a stream with
  order per key and on one without; in rounds, each after a run of raw
  Redis Streams (``bench.events_streams``) of as many events;
* raw Celery: no-op tasks, one message each, until the queue is drained;
  and a backlog built while the worker's consumer is paused (remote
  control), timed from the first message taken;
* produce overhead: one request-sized transaction with and without a
  produced event, per-call latencies (p50).
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

TIMEOUT = 180.0
POLL = 0.005


def _wait(done: Callable[[], bool], what: str, *, poll: float = POLL) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"Timed out waiting for {what}")
        time.sleep(poll)


@contextmanager
def paused(queue: str) -> Iterator[Callable[[], None]]:
    """The worker stops consuming a Celery queue; calling what this yields
    resumes it (remote control), so that a backlog can be built and then
    timed draining."""
    from celery import current_app

    def answered(replies: list[Any] | None, what: str) -> None:
        if not replies:
            raise RuntimeError(f"The worker did not answer {what} {queue}")

    answered(current_app.control.cancel_consumer(queue, reply=True, timeout=10, limit=1), "cancel")
    resumed = False

    def resume() -> None:
        nonlocal resumed
        resumed = True
        answered(current_app.control.add_consumer(queue, reply=True, timeout=10, limit=1), "add")

    try:
        yield resume
    finally:
        if not resumed:
            resume()


def resumed_and_taking(queue: str, resume: Callable[[], None]) -> float:
    """Resume the worker on ``queue``; return the moment it took the first
    message of the backlog.

    kombu's Redis transport adds a queue to its blocking pop only when the
    current one times out (up to a second later): the clock starts when the
    backlog starts shrinking, not when the consumer is added.
    """
    import redis
    from django.conf import settings

    broker = redis.Redis.from_url(str(settings.CELERY_BROKER_URL))
    try:
        backlog = broker.llen(queue)
        resume()
        _wait(lambda: broker.llen(queue) < backlog, f"the worker to take from {queue}", poll=0.0005)
        return time.perf_counter()
    finally:
        broker.close()


def _nothing_delivered(group: dict[Any, Any]) -> bool:
    last = group.get("last-delivered-id")
    return (last.decode() if isinstance(last, bytes) else str(last)) == "0-0"


class _KitStream:
    """A bench stream's producer and its processor's inbox count."""

    def __init__(self, ordered: bool, per_transaction: int) -> None:
        from bench.events_app.api import bench_events, bench_unordered
        from bench.events_app.processors import sink, sink_unordered
        from ucloud.events.processors import processors
        from ucloud.models import InboxEntry

        self.stream = bench_events if ordered else bench_unordered
        function = sink if ordered else sink_unordered
        consumer = next(p.id for p in processors().values() if p.function is function)
        self.inbox = InboxEntry.objects.filter(consumer=consumer)
        self.group = consumer.partition(":")[0]
        self.per_transaction = per_transaction
        self.produced = 0
        # Each run of a stream counts from what earlier runs left: the
        # inbox and the stream already hold their events.
        self.handled_before = self.inbox.count()
        self.read_before = self._state()[0]

    def produce(self, count: int) -> None:
        """``count`` events in transactions of ``per_transaction``; the relay
        appends each transaction's events to the stream after it commits."""
        from django.db import transaction

        from bench.events_app.api import payload

        first, last = self.produced, self.produced + count
        for start in range(first, last, self.per_transaction):
            stop = min(start + self.per_transaction, last)
            with transaction.atomic():
                self.stream.produce_many(payload(number) for number in range(start, stop))
        self.produced = last

    def _state(self) -> tuple[int | None, bool]:
        """Entries the group has read from the stream so far (None: Redis
        cannot tell), and whether any waits for it (pending, or not delivered
        yet): one pipelined round trip of small answers (``XINFO STREAM``
        would send entries along)."""
        from ucloud.events import broker

        pipe = broker.connect().pipeline(transaction=False)
        for key in broker.partition_keys(self.stream.name):
            pipe.xinfo_groups(key)
        read, waiting = 0, False
        for groups in pipe.execute(raise_on_error=False):
            for group in groups if isinstance(groups, list) else []:  # else: no stream yet
                name = group["name"]
                if (name.decode() if isinstance(name, bytes) else name) != self.group:
                    continue
                lag, entries_read = group.get("lag"), group.get("entries-read")
                if entries_read is None and _nothing_delivered(group):
                    # Redis (7.0) leaves the counter unset until a group
                    # made on an empty stream first reads: it has read none.
                    entries_read = 0
                if lag is None or entries_read is None:
                    return None, False
                read += int(entries_read)
                waiting |= bool(group.get("pending")) or lag != 0
        return read, waiting

    def wait_handled(self, what: str) -> None:
        handled = self.handled_before + self.produced

        def done() -> bool:
            # Counting the inbox costs PostgreSQL milliseconds once it holds
            # tens of thousands of entries: polled every few ms, the count
            # took a fifth of the database's CPU from the kit being measured.
            # It runs only once Redis says the group has read every event
            # and acknowledged it (after its inbox entry committed).
            read, waiting = self._state()
            if read is not None and self.read_before is not None:
                caught_up = not waiting and read - self.read_before >= self.produced
                if not caught_up:
                    return False
            return self.inbox.count() >= handled

        _wait(done, what)


def kit_end_to_end(events: int, *, ordered: bool, per_transaction: int) -> dict[str, Any]:
    """Events/s from the first produce until the last event's inbox entry exists."""
    stream = _KitStream(ordered, per_transaction)
    stream.produce(2 * per_transaction)
    stream.wait_handled("the warm-up events (is the worker up?)")
    started = time.perf_counter()
    stream.produce(events)
    produced = time.perf_counter() - started
    stream.wait_handled("the last inbox entry")
    seconds = time.perf_counter() - started
    return {
        "events_e2e_per_s": round(events / seconds),
        "events": events,
        "ordered": ordered,
        "per_transaction": per_transaction,
        "seconds": round(seconds, 3),
        # Producing includes the after-commit relay (on the background thread).
        "produce_and_relay_seconds": round(produced, 3),
    }


def celery_tasks(tasks: int, drain_tasks: int, *, warmup: int) -> dict[str, Any]:
    """No-op tasks/s from the first send until the queue is drained and acked;
    then the worker side alone, draining a backlog."""
    import redis
    from django.conf import settings

    from bench.events_app.processors import NOOP_QUEUE, noop

    broker = redis.Redis.from_url(str(settings.CELERY_BROKER_URL))

    def idle() -> bool:
        # kombu's Redis transport keeps a delivered, not yet acknowledged
        # message (acks_late) in the "unacked" hash until the task returns.
        return broker.llen(NOOP_QUEUE) == 0 and broker.hlen("unacked") == 0

    def drained() -> bool:
        # Twice, a moment apart: a message being moved from the queue to
        # "unacked" is briefly in neither.
        if not idle():
            return False
        time.sleep(POLL)
        return idle()

    def send(count: int) -> None:
        for _ in range(count):
            noop.apply_async(queue=NOOP_QUEUE)

    try:
        send(warmup)
        _wait(drained, "the warm-up tasks")
        started = time.perf_counter()
        send(tasks)
        sent = time.perf_counter() - started
        _wait(drained, "the Celery queue to drain")
        seconds = time.perf_counter() - started
        with paused(NOOP_QUEUE) as resume:
            send(drain_tasks)
            drain_started = resumed_and_taking(NOOP_QUEUE, resume)
            _wait(drained, "the Celery backlog to drain")
            drain_seconds = time.perf_counter() - drain_started
    finally:
        broker.close()
    return {
        "celery_tasks_per_s": round(tasks / seconds),
        "tasks": tasks,
        "seconds": round(seconds, 3),
        "send_seconds": round(sent, 3),
        "drain_per_s": round(drain_tasks / drain_seconds),
        "drain_tasks": drain_tasks,
    }


class _Requests:
    """The same request-sized transaction, with and without producing an event."""

    def __init__(self) -> None:
        self.owner = f"bench-{uuid.uuid4().hex[:8]}"
        self.numbers = itertools.count()

    def _create(self) -> Any:
        from apps.files.models import File

        return File.objects.create(owner=self.owner, path=f"/p/{next(self.numbers)}", size=1)

    def _event(self, file: Any) -> dict[str, Any]:
        return {"type": "file_created", "file_id": file.id, "owner": file.owner, "path": file.path}

    def bare(self) -> float:
        from django.db import transaction

        started = time.perf_counter()
        with transaction.atomic():
            self._create()
        return time.perf_counter() - started

    def with_relay(self) -> float:
        """Outbox row in the transaction, then the after-commit relay publishes it."""
        from django.db import transaction

        from apps.files.api import files_events
        from ucloud.events.relay import background_relay

        started = time.perf_counter()
        with transaction.atomic():
            files_events.produce(self._event(self._create()))
        elapsed = time.perf_counter() - started
        # Out of the timing, but before the next sample: the background
        # relay's publish must not run during (and slow) another variant.
        background_relay.flush(timeout=10)
        return elapsed

    def outbox_only(self) -> float:
        """Outbox row in the transaction, relay kick switched off (untimed)."""
        from django.db import transaction
        from django.utils import timezone

        from apps.files.api import files_events
        from ucloud.events import outbox, relay
        from ucloud.models import OutboxEvent

        outbox.set_after_commit(None)
        try:
            started = time.perf_counter()
            with transaction.atomic():
                files_events.produce(self._event(self._create()))
            elapsed = time.perf_counter() - started
        finally:
            outbox.set_after_commit(relay.relay_after_commit)
        # Out of the timing: mark the row relayed, so that the next
        # with-relay request relays only its own event.
        OutboxEvent.objects.filter(relayed_at__isnull=True).update(relayed_at=timezone.now())
        return elapsed


def vacuum_outbox() -> bool:
    """On PostgreSQL, clean the outbox the throughput runs churned through.

    Relaying rewrites every row, so a 50k-event burst leaves the relay's
    pending-rows index full of dead entries until autovacuum passes; the
    latency of a request is measured in the steady state after it.
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE ucloud_outboxevent")
    return True


def produce_overhead(iterations: int, *, warmup: int) -> dict[str, Any]:
    """p50 latency of each variant, in turns (rotating who goes first), and the
    differences that producing one event adds to a request."""
    requests = _Requests()
    variants: dict[str, Callable[[], float]] = {
        "bare": requests.bare,
        "outbox_only": requests.outbox_only,
        "with_relay": requests.with_relay,
    }
    names = list(variants)
    for _ in range(warmup):
        for name in names:
            variants[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for turn in range(iterations):
        shift = turn % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(variants[name]())
    p50 = {name: statistics.median(values) * 1e3 for name, values in samples.items()}

    def paired_p50(name: str) -> float:
        # The median of per-turn differences: a turn's samples ran back to
        # back, so a noisy moment of the machine shifts both alike.
        diffs = [a - b for a, b in zip(samples[name], samples["bare"], strict=True)]
        return round(statistics.median(diffs) * 1e3, 3)

    return {
        "produce_overhead_ms_p50": paired_p50("with_relay"),
        "outbox_write_overhead_ms_p50": paired_p50("outbox_only"),
        "request_ms_p50": {name: round(value, 3) for name, value in p50.items()},
        "iterations": iterations,
    }


def _paired_with_raw(kit: list[dict[str, Any]], raw: list[dict[str, Any]]) -> dict[str, Any]:
    """Raw Streams' figures, and the kit's (ordered stream) against them
    round by round: the median of the rounds' ratios."""
    ratios = [
        mine["events_e2e_per_s"] / theirs["streams_per_s"]
        for mine, theirs in zip(kit, raw, strict=True)
    ]
    return {
        "streams_per_s": round(statistics.median(run["streams_per_s"] for run in raw)),
        "events_vs_streams_ratio": round(statistics.median(ratios), 3),
        "round_ratios": [round(ratio, 3) for ratio in ratios],
        "runs": [run["streams_per_s"] for run in raw],
        "events": raw[0]["events"],
        "consumers": raw[0]["consumers"],
    }


def _combined(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The runs of one stream as one: all their events over all their time."""
    events = sum(run["events"] for run in runs)
    seconds = sum(run["seconds"] for run in runs)
    return {
        **runs[0],
        "events_e2e_per_s": round(events / seconds),
        "events": events,
        "seconds": round(seconds, 3),
        "produce_and_relay_seconds": round(sum(r["produce_and_relay_seconds"] for r in runs), 3),
        "runs": len(runs),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--per-transaction", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=5, help="raw Streams + kit runs, in turns")
    parser.add_argument("--tasks", type=int, default=5_000)
    parser.add_argument("--drain-tasks", type=int, default=3_000)
    parser.add_argument("--iterations", type=int, default=300)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from bench import events_streams

    results: dict[str, Any] = {"database": connection.vendor}
    # Rounds of a raw Streams run, then the two kit streams (which of them
    # goes first alternates): this shared machine's speed drifts by half
    # within minutes, so each kit run is compared with the raw run next to
    # it, never with one from another moment.
    runs: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
    raw: list[dict[str, Any]] = []
    per_run = args.events // 2
    # The worker has just started: until its consumers read, a raw run would
    # share the machine with its start-up (the first raw run came out at
    # half the others' rate).
    for ordered in (True, False):
        kit_end_to_end(args.per_transaction, ordered=ordered, per_transaction=args.per_transaction)
    for turn in range(args.rounds):
        raw.append(events_streams.measure(str(settings.CELERY_BROKER_URL), events=per_run))
        for ordered in (True, False) if turn % 2 == 0 else (False, True):
            runs[ordered].append(
                kit_end_to_end(per_run, ordered=ordered, per_transaction=args.per_transaction)
            )
    results["kit"] = _combined(runs[True])
    results["kit_unordered"] = _combined(runs[False])
    results["streams"] = _paired_with_raw(runs[True], raw)
    results["celery"] = celery_tasks(args.tasks, args.drain_tasks, warmup=200)
    vacuumed = vacuum_outbox()
    results["overhead"] = {**produce_overhead(args.iterations, warmup=30), "vacuumed": vacuumed}
    print(json.dumps(results), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
