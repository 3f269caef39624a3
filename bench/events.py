"""Event streams end to end: the kit's outbox + relay + stream consumers against
raw Redis Streams and raw Celery, on the same Redis, in one run.

* ``events_e2e_per_s``: ``produce_many`` in transactions of 1,000 events,
  the after-commit relay (``XADD`` to the stream's partitions), a no-op
  batched processor in the stream consumers of a 2-process prefork
  ``celery worker`` (2 consumers of the group); from the first produce until
  the last event's inbox entry exists; on a stream with order per key
  (``events_ordered_per_s``, the same figure) and on one without;
* ``streams_per_s``: pipelined ``XADD`` of the same JSON payloads, 2
  consumer processes doing ``XREADGROUP`` / ``XACK``; one run before each
  round of kit runs (``bench.events_kit``), the median of them;
  ``events_vs_streams_ratio`` is the median of the rounds' ratios (kit
  ordered run / the raw run of its round);
* ``celery_tasks_per_s``: no-op tasks, one message each, drained by the
  same worker;
* ``produce_overhead_ms_p50``: what producing one event adds to a
  request-sized transaction (outbox row plus waking the relay thread).

PostgreSQL when a database URL is given (a fresh database, dropped after),
else a temporary SQLite file, whose single writer lock (producer, relay and
workers all write) limits the kit's figure. Redis logical DB 9 is flushed
before and after::

    .venv/bin/python bench/events.py --database-url postgres://postgres@127.0.0.1:5432/postgres
    measure("redis://127.0.0.1:6379/0", None)["events_vs_celery_ratio"]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

SETTINGS_MODULE = "bench.events_settings"
REDIS_DB = 9  # the benchmark's own logical database: flushed, never shared
WORKER_PROCESSES = 2
QUEUES = "bench.noop"  # the events are read from streams, not Celery queues
CHILD_TIMEOUT = 600.0
TARGETS = {
    "events_vs_celery_ratio": ">= 10",
    "events_vs_streams_ratio": ">= 0.35",
    "produce_overhead_ms_p50": "<= 1",
}


def bench_redis_url(redis_url: str) -> str:
    """The same Redis server, logical database ``REDIS_DB``."""
    parts = urlsplit(redis_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{REDIS_DB}", parts.query, ""))


@contextmanager
def bench_database(database_url: str | None) -> Iterator[str]:
    """A fresh PostgreSQL database next to ``database_url`` when that is a
    PostgreSQL URL, else a temporary SQLite file; dropped (removed) afterwards."""
    if database_url is None or not database_url.startswith(("postgres:", "postgresql:")):
        directory = tempfile.mkdtemp(prefix="ucloud-bench-events-")
        try:
            yield f"sqlite:///{directory}/events.sqlite3"
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    import psycopg

    parts = urlsplit(database_url)
    name = f"ucloud_bench_events_{uuid.uuid4().hex[:10]}"
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", parts.query, ""))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def child_env(database_url: str, broker_url: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        # The monolith, one database: no topology or per-service URLs leak in.
        if not key.startswith(("UCLOUD_", "DATABASE_URL_", "CELERY_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE=SETTINGS_MODULE,
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=broker_url,
        # Locks on the same Redis: with a broker, several processes run
        # (ucloud.E020 refuses process-local locks then).
        REDIS_URL=broker_url,
        PYTHONPATH=str(ROOT),
    )
    return env


@contextmanager
def celery_worker(env: dict[str, str], log: IO[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    """A prefork ``celery worker`` of the bench settings; its process group is
    stopped (TERM, then KILL) on the way out."""
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        "--pool=prefork", f"--concurrency={WORKER_PROCESSES}", f"--queues={QUEUES}",
        "--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat",
        f"--hostname=bench-events-{uuid.uuid4().hex[:8]}@%h",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        yield process
    finally:
        _stop_group(process)


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    # The worker leads its own session: its pool processes share its group id.
    for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue


def _run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def measure_kit(
    database_url: str | None, broker_url: str, *, events: int, tasks: int
) -> dict[str, Any]:
    # The backlog of the Celery worker-side drain: 60 % of the tasks.
    """Migrate a fresh database, start the worker, run ``bench.events_kit``."""
    with bench_database(database_url) as url, tempfile.TemporaryFile() as log:
        env = child_env(url, broker_url)
        _run([sys.executable, "manage.py", "migrate", "--verbosity=0"], env)
        with celery_worker(env, log):
            try:
                output = _run(
                    [sys.executable, "-m", "bench.events_kit",
                     f"--events={events}", f"--tasks={tasks}",
                     f"--drain-tasks={tasks * 3 // 5}"],
                    env,
                )  # fmt: skip
            except (RuntimeError, subprocess.TimeoutExpired):
                log.seek(0)
                sys.stderr.write(log.read()[-4000:].decode(errors="replace"))
                raise
    return dict(json.loads(output.strip().splitlines()[-1]))


def measure(
    redis_url: str, database_url: str | None, *, events: int = 50_000, tasks: int = 5_000
) -> dict[str, Any]:
    """Every figure of the events benchmark, with its raw baselines and details."""
    broker_url = bench_redis_url(redis_url)
    client = redis.Redis.from_url(broker_url)
    client.flushdb()
    try:
        kit = measure_kit(database_url, broker_url, events=events, tasks=tasks)
    finally:
        client.flushdb()
        client.close()
    events_per_s = kit["kit"]["events_e2e_per_s"]
    unordered_per_s = kit["kit_unordered"]["events_e2e_per_s"]
    celery_per_s = kit["celery"]["celery_tasks_per_s"]
    streams = kit["streams"]
    streams_per_s = streams["streams_per_s"]
    overhead = kit["overhead"]
    figures = {
        "events_e2e_per_s": events_per_s,
        "celery_tasks_per_s": celery_per_s,
        "streams_per_s": streams_per_s,
        "events_vs_celery_ratio": round(events_per_s / celery_per_s, 2),
        # Round by round (bench.events_kit): not the ratio of the two figures.
        "events_vs_streams_ratio": streams["events_vs_streams_ratio"],
        "produce_overhead_ms_p50": overhead["produce_overhead_ms_p50"],
        "outbox_write_overhead_ms_p50": overhead["outbox_write_overhead_ms_p50"],
        "events_ordered_per_s": events_per_s,
        "events_unordered_per_s": unordered_per_s,
        "ordered_vs_unordered_ratio": round(events_per_s / unordered_per_s, 3),
        # The worker side alone: a queued backlog drained by the same worker.
        "celery_drain_per_s": kit["celery"]["drain_per_s"],
    }
    return {
        **figures,
        "targets": TARGETS,
        "targets_met": {
            "events_vs_celery_ratio": figures["events_vs_celery_ratio"] >= 10,
            "events_vs_streams_ratio": figures["events_vs_streams_ratio"] >= 0.35,
            "produce_overhead_ms_p50": figures["produce_overhead_ms_p50"] <= 1,
        },
        "details": {
            "database": kit["database"],
            "worker": f"celery worker --pool=prefork --concurrency={WORKER_PROCESSES}",
            "kit": kit["kit"],
            "kit_unordered": kit["kit_unordered"],
            "celery": kit["celery"],
            "streams": streams,
            "overhead": overhead,
        },
    }


def render(result: dict[str, Any]) -> str:
    d = result["details"]
    p50 = d["overhead"]["request_ms_p50"]
    met = result["targets_met"]

    def row(name: str, value: Any, target: str, note: str) -> str:
        verdict = "" if name not in met else ("ok" if met[name] else "MISSED")
        return f"{name:<30} {value!s:>9}  {target:<8} {verdict:<7} {note}"

    return "\n".join(
        [
            row("figure", "value", "target", "details"),
            row("events_e2e_per_s", result["events_e2e_per_s"], "",
                f"{d['kit']['events']} events, {d['database']}, "
                f"produce+relay {d['kit']['produce_and_relay_seconds']} s "
                f"of {d['kit']['seconds']} s"),
            row("streams_per_s", result["streams_per_s"], "",
                f"raw XADD / XREADGROUP+XACK, {d['streams']['consumers']} consumers, "
                f"median of runs {d['streams']['runs']}"),
            row("celery_tasks_per_s", result["celery_tasks_per_s"], "",
                f"{d['celery']['tasks']} no-op tasks, {d['worker']}"),
            row("events_vs_celery_ratio", result["events_vs_celery_ratio"],
                TARGETS["events_vs_celery_ratio"], "kit events/s / Celery tasks/s"),
            row("events_vs_streams_ratio", result["events_vs_streams_ratio"],
                TARGETS["events_vs_streams_ratio"],
                "kit events/s / Redis Streams events/s, median of rounds "
                f"{d['streams']['round_ratios']}"),
            row("produce_overhead_ms_p50", result["produce_overhead_ms_p50"],
                TARGETS["produce_overhead_ms_p50"],
                "outbox row + waking the relay thread after commit"),
            row("  outbox write only", result["outbox_write_overhead_ms_p50"], "",
                f"request p50: bare {p50['bare']} ms, outbox {p50['outbox_only']} ms, "
                f"with relay {p50['with_relay']} ms"),
            row("events_ordered_per_s", result["events_ordered_per_s"], "",
                "order per key (the figure above)"),
            row("events_unordered_per_s", result["events_unordered_per_s"], "",
                "the same stream, ordered=False"),
            row("ordered_vs_unordered_ratio", result["ordered_vs_unordered_ratio"], "",
                "what order per key costs"),
            row("celery_drain_per_s", result["celery_drain_per_s"], "",
                f"{d['celery']['drain_tasks']} queued no-op tasks, worker side alone"),
            *(
                ["", "SQLite: one writer at a time (producer, relay and both workers take "
                 "turns); pass --database-url for PostgreSQL."]
                if d["database"] == "sqlite" else []
            ),
        ]
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL URL (a fresh database is created next to it); default: SQLite",
    )
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--tasks", type=int, default=5_000)
    parser.add_argument("--json", action="store_true", help="print the result as JSON too")
    args = parser.parse_args(argv)
    result = measure(args.redis_url, args.database_url, events=args.events, tasks=args.tasks)
    print(render(result))
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
