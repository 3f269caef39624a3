"""Processes of the event-delivery proofs: a private Redis and Celery workers.

The Redis is a ``redis-server`` of our own on a free loopback port, keeping
nothing on disk, so a test may stop it without disturbing anyone else. A
worker is ``manage.py ucloud_worker --beat`` in a session (process group) of
its own, so that killing it kills its pool children and beat too::

    redis = PrivateRedis(tmp_path)
    redis.start()
    worker = Worker.start(env, tmp_path / "worker-1.log")
    worker.wait_until_ready()
    worker.kill()          # SIGKILL to the whole group, as a crash would
    redis.stop()
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import redis

from tests.scenario.servers import REPO_ROOT

READY_DEADLINE = 30.0
STOP_DEADLINE = 15.0
# What a Celery worker logs once it consumes its queues.
WORKER_READY = " ready."


def free_port() -> int:
    """A loopback port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_gone(process: subprocess.Popen[bytes]) -> None:
    try:
        process.wait(timeout=STOP_DEADLINE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_DEADLINE)


class PrivateRedis:
    """A ``redis-server`` that only this test uses. Without ``appendonly`` it
    forgets everything on stop; with it, every write is fsynced to its AOF
    before Redis answers, so a restart after SIGKILL loses nothing acknowledged."""

    def __init__(self, directory: Path, *, appendonly: bool = False) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = directory / "redis.log"
        self.appendonly = appendonly

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=5)

    def start(self) -> None:
        """Start on our port (again, after ``stop``); wait until it answers PING."""
        durability = (
            ["--appendonly", "yes", "--appendfsync", "always"]
            if self.appendonly
            else ["--appendonly", "no"]
        )
        command = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", *durability, "--dir", str(self.directory),
        ]  # fmt: skip
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT
            )
        give_up = time.monotonic() + READY_DEADLINE
        while time.monotonic() < give_up:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited early:\n{self.log.read_text()}")
            try:
                if self.client().ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server not answering on {self.port}")

    def stop(self) -> None:
        """Kill it, as a crash would; without persistence its data is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            _wait_gone(self.process)
        self.process = None

    def stream_length(self, stream: str) -> int:
        """Entries of an event stream, over all its partitions."""
        client = self.client()
        return sum(
            int(client.xlen(key)) for key in client.scan_iter(match=f"ucloud:events:{stream}:*")
        )


def group_members(group: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the command name (which may hold spaces) in parentheses.
        fields = stat.rsplit(")", 1)[1].split()
        state, process_group = fields[0], int(fields[2])
        if process_group == group and state != "Z":
            members.append(int(entry.name))
    return members


def _parent_of(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])


@dataclass
class Worker:
    """``manage.py ucloud_worker --beat``: main process, pool children and beat."""

    process: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, env: Mapping[str, str], log: Path, *, extra: Sequence[str] = ()) -> Worker:
        command = [
            sys.executable, str(REPO_ROOT / "manage.py"), "ucloud_worker",
            "--beat", "--concurrency", "2", "--loglevel", "INFO", *extra,
        ]  # fmt: skip
        with log.open("ab") as output:
            process = subprocess.Popen(
                command,
                env=dict(env),
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                # Its own process group: one signal reaches every process of it.
                start_new_session=True,
            )
        return cls(process, log)

    def logs(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_until_ready(self) -> None:
        give_up = time.monotonic() + READY_DEADLINE
        while time.monotonic() < give_up:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.logs()}")
            if WORKER_READY in self.logs():
                return
            time.sleep(0.1)
        raise RuntimeError(f"worker not ready after {READY_DEADLINE}s:\n{self.logs()}")

    def members(self) -> list[int]:
        return group_members(self.process.pid)

    def pool_processes(self) -> list[int]:
        """The main process's children: the prefork pool and the embedded
        beat (their command lines are the same; the consumers' announcements
        in Redis tell the pool processes apart)."""
        return [
            pid
            for pid in self.members()
            if pid != self.process.pid and _parent_of(pid) == self.process.pid
        ]

    def kill_pool_process(self, pid: int) -> None:
        """SIGKILL one pool process alone; Celery starts a new one in its place."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL the whole group at once: no task finishes, nothing is acked."""
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=STOP_DEADLINE)
        self._wait_group_gone()

    def stop(self) -> None:
        """Warm shutdown, then SIGKILL for whatever is left after the deadline."""
        if self.process.poll() is None:
            # The main process only: it lets its pool finish the current tasks.
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=STOP_DEADLINE)
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=STOP_DEADLINE)
        self._wait_group_gone()

    def _signal_group(self, signum: int) -> None:
        # The group id is the pid of the process we started (a new session).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def _wait_group_gone(self) -> None:
        give_up = time.monotonic() + STOP_DEADLINE
        while self.members():
            if time.monotonic() > give_up:
                raise RuntimeError(f"worker group {self.process.pid} survived: {self.members()}")
            time.sleep(0.05)
