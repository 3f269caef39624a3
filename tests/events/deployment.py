"""A deployment of the probe service for one proof: producers, workers, switches.

Every process runs ``tests.events.settings`` against the shared scratch
database; with a broker (``use_broker``) events travel through a private
Redis to Celery workers, without one they are processed eagerly in the
producer::

    deployment.use_broker(redis)
    deployment.start_worker()
    deployment.produce(count=100).result()
    deployment.wait_for_effects(100)
    deployment.close()
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.events.observations import EventDatabase, execution_counts
from tests.events.probe.switches import CURED, HOLD
from ucloud.deploy.processes import STOP_DEADLINE, manage, manage_argv, project_dir
from ucloud.testing.private_redis import PrivateRedis
from ucloud.testing.servers import server_environment
from ucloud.testing.workers import Worker

SETTINGS = "tests.events.settings"
# Partitions of every stream in the proofs (UCLOUD_STREAM_PARTITIONS).
PARTITIONS = 8
# Two processors of the probe group, and the echo group's one.
PROCESSORS = ("one", "batch", "echo")
# Bound on every wait of a proof; reaching it fails the test with the logs.
WAIT_DEADLINE = 60.0
# Inherited variables that would change what the processes of a proof do.
_OWN_VARIABLES = (
    "CELERY_BROKER_URL",
    "CELERY_VISIBILITY_TIMEOUT",
    "CELERY_BEAT_SCHEDULE_FILENAME",
    "CELERY_WORKER_PREFETCH_MULTIPLIER",
    "REDIS_URL",
    "PROBE_DIR",
    "UCLOUD_RELAY_SWEEP_INTERVAL",
    "UCLOUD_RELAY_SWEEP_MIN_AGE",
    "UCLOUD_STREAM_MAX_ATTEMPTS",
    "UCLOUD_STREAM_RETRY_BACKOFF",
    "UCLOUD_LOG_LEVEL",
    "UCLOUD_EVENTS_URL",
    "UCLOUD_SERVICES",
    "UCLOUD_STREAM_LEASE_TTL",
    "UCLOUD_STREAM_PARTITIONS",
)


def environment(database_url: str, directory: Path) -> dict[str, str]:
    """Environment of every process of one proof, without a broker."""
    env = server_environment(database_url, secret_key=secrets.token_urlsafe(40))
    for name in _OWN_VARIABLES:
        env.pop(name, None)
    env.update(
        DJANGO_SETTINGS_MODULE=SETTINGS,
        PROBE_DIR=str(directory),
        CELERY_BEAT_SCHEDULE_FILENAME=str(directory / "beat-schedule"),
        UCLOUD_RELAY_SWEEP_INTERVAL="1",
        UCLOUD_STREAM_PARTITIONS=str(PARTITIONS),
        UCLOUD_STREAM_LEASE_TTL="2",
        UCLOUD_LOG_LEVEL="INFO",
        # One message per pool process at a time: messages prefetched behind
        # a slow one would outlive the short visibility timeout and come
        # back while still waiting, which only slows the proofs down.
        CELERY_WORKER_PREFETCH_MULTIPLIER="1",
    )
    return env


@dataclass
class Production:
    """A ``probe_produce`` process running in the background."""

    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def result(self) -> dict[str, Any]:
        """Wait for it; its JSON report. Fails when it did not exit 0."""
        code = self.process.wait(timeout=WAIT_DEADLINE)
        assert code == 0, f"probe_produce exited {code}:\n{self.errors()}"
        report: dict[str, Any] = json.loads(self.stdout.read_text())
        return report

    def errors(self) -> str:
        return self.stderr.read_text(errors="replace") if self.stderr.exists() else ""


@dataclass
class ProbeDeployment:
    database: EventDatabase
    directory: Path
    env: dict[str, str]
    workers: list[Worker] = field(default_factory=list)
    productions: list[Production] = field(default_factory=list)
    # Workers that exited and were started again by ``supervise``.
    replaced: list[Worker] = field(default_factory=list)

    def use_broker(self, redis: PrivateRedis, *, visibility_timeout: int = 5) -> None:
        # Celery's broker and the event streams on the private Redis. A short
        # visibility timeout: a killed worker's periodic tasks come back
        # within the proof rather than after the production default.
        self.env.update(
            CELERY_BROKER_URL=redis.url,
            CELERY_VISIBILITY_TIMEOUT=str(visibility_timeout),
        )

    def configure(self, **variables: str) -> None:
        self.env.update(variables)

    def start_worker(self, **variables: str) -> Worker:
        """A worker with beat; ``variables`` are added to its environment only."""
        log = self.directory / f"worker-{len(self.workers) + 1}.log"
        worker = Worker.start({**self.env, **variables}, log)
        self.workers.append(worker)
        worker.wait_until_ready()
        return worker

    def produce(
        self,
        *,
        count: int,
        start: int = 0,
        transactions: int = 1,
        hold: Iterable[int] = (),
        poison: Iterable[int] = (),
        pause_ms: int = 0,
    ) -> Production:
        args = [
            "--count", str(count), "--start", str(start), "--transactions", str(transactions),
            *(f"--hold={n}" for n in hold), *(f"--poison={n}" for n in poison),
            f"--pause-ms={pause_ms}",
        ]  # fmt: skip
        return self.run_in_background("probe_produce", *args)

    def run_in_background(self, command: str, *args: str) -> Production:
        """A producing management command, running while the proof goes on."""
        name = f"produce-{len(self.productions) + 1}"
        stdout, stderr = self.directory / f"{name}.out", self.directory / f"{name}.err"
        with stdout.open("wb") as out, stderr.open("wb") as err:
            process = subprocess.Popen(
                manage_argv(command, *args),
                env=self.env,
                cwd=project_dir(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        production = Production(process, stdout, stderr)
        self.productions.append(production)
        return production

    def manage(self, *args: str) -> str:
        """Run a management command to completion; its standard output."""
        return manage(self.env, *args, timeout=WAIT_DEADLINE).stdout

    # The probe's switches: files its processors look at on every event.
    def hold(self) -> None:
        (self.directory / HOLD).touch()

    def release(self) -> None:
        (self.directory / HOLD).unlink(missing_ok=True)

    def cure(self) -> None:
        (self.directory / CURED).touch()

    def wait_until(self, done: Callable[[], bool], what: str) -> None:
        give_up = time.monotonic() + WAIT_DEADLINE
        while not done():
            if time.monotonic() > give_up:
                raise AssertionError(f"gave up waiting for {what}\n{self.logs()}")
            time.sleep(0.1)

    def supervise(self) -> None:
        """Start a new worker for each one that exited, as a supervisor would."""
        for worker in list(self.workers):
            if worker.process.poll() is not None and worker not in self.replaced:
                self.replaced.append(worker)
                self.start_worker()

    def wait_for_effects(self, count: int, *, supervised: bool = False) -> None:
        """Until each probe processor has ``count`` effects; ``supervised``:
        workers that exit meanwhile are started again."""

        def reached() -> bool:
            if supervised:
                self.supervise()
            effects = self.database.effects()
            return all(len(effects.get(name, [])) >= count for name in PROCESSORS)

        self.wait_until(reached, f"{count} effects per processor")

    def wait_for_execution(self, processor: str, number: int) -> None:
        self.wait_until(
            lambda: execution_counts(self.directory)[(processor, number)] > 0,
            f"{processor} to run event #{number}",
        )

    def consumer_pids(self, redis: PrivateRedis, group: str = "probe") -> set[int]:
        """Processes consuming ``group`` now, from the consumers' announcements."""
        key = f"ucloud:events:consumers:{group}"
        names: Any = redis.client().zrangebyscore(key, time.time() * 1000, "+inf")
        return {int(name.decode().split(":")[-2]) for name in names}

    def logs(self) -> str:
        parts = [f"--- {w.log.name} ---\n{w.logs()}" for w in self.workers]
        parts += [f"--- {p.stderr.name} ---\n{p.errors()}" for p in self.productions]
        return "\n".join(parts)

    def close(self) -> None:
        """Stop every process the proof started; release held processors first."""
        self.release()
        for production in self.productions:
            if production.process.poll() is None:
                production.process.kill()
                production.process.wait(timeout=STOP_DEADLINE)
        for worker in self.workers:
            worker.stop()


def numbers(count: int, start: int = 0) -> list[int]:
    return list(range(start, start + count))


def effects_once(effects: Mapping[str, list[int]], expected: list[int]) -> bool:
    """Each processor has exactly one effect per expected event number."""
    return all(effects.get(name) == expected for name in PROCESSORS)
