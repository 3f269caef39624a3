"""Celery workers of the project as real processes: started, killed, stopped.

A worker is ``manage.py ucloud_worker --beat`` in a process group of its
own, so that killing it kills its pool children and beat too::

    worker = Worker.start(env, tmp_path / "worker-1.log")
    worker.wait_until_ready()
    worker.kill_pool_process(worker.pool_processes()[0])   # Celery replaces it
    worker.kill()          # SIGKILL to the whole group, as a crash would
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ucloud.deploy.processes import (
    STOP_DEADLINE,
    group_members,
    kill_group,
    manage_argv,
    parent_of,
    signal_group,
    start,
    wait_group_gone,
)

READY_DEADLINE = 30.0
# What a Celery worker logs once it consumes its queues.
WORKER_READY = " ready."


@dataclass
class Worker:
    """``manage.py ucloud_worker --beat``: main process, pool children and beat."""

    process: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, env: Mapping[str, str], log: Path, *, extra: Sequence[str] = ()) -> Worker:
        argv = manage_argv(
            "ucloud_worker", "--beat", "--concurrency", "2", "--loglevel", "INFO", *extra
        )
        return cls(start(argv, env=env, log=log), log)

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
            if pid != self.process.pid and parent_of(pid) == self.process.pid
        ]

    def kill_pool_process(self, pid: int) -> None:
        """SIGKILL one pool process alone; Celery starts a new one in its place."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL the whole group at once: no task finishes, nothing is acked."""
        kill_group(self.process)

    def stop(self) -> None:
        """Warm shutdown, then SIGKILL for whatever is left after the deadline."""
        if self.process.poll() is None:
            # The main process only: it lets its pool finish the current tasks.
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=STOP_DEADLINE)
        signal_group(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=STOP_DEADLINE)
        wait_group_gone(self.process.pid)
