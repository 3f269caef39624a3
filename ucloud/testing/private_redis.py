"""A ``redis-server`` of the test's own on a free loopback port.

It keeps nothing on disk unless asked, so a test may stop or crash it
without disturbing anyone else; a deployment under test uses it as its
broker and event streams::

    redis = PrivateRedis(tmp_path)            # PrivateRedis(tmp_path, appendonly=True)
    redis.start()
    env["CELERY_BROKER_URL"] = redis.url
    redis.stream_length("files.events")       # entries over every partition
    redis.stop()                              # SIGKILL, as a crash would
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import redis

from ucloud.deploy.processes import STOP_DEADLINE, start
from ucloud.testing.ports import free_port

READY_DEADLINE = 30.0


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
        self.process = start(
            command, env=os.environ, log=self.log, cwd=self.directory, own_group=False
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
            try:
                self.process.wait(timeout=STOP_DEADLINE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_DEADLINE)
        self.process = None

    def stream_length(self, stream: str) -> int:
        """Entries of an event stream, over all its partitions."""
        client = self.client()
        return sum(
            int(client.xlen(key)) for key in client.scan_iter(match=f"ucloud:events:{stream}:*")
        )
