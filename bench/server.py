"""A gunicorn server of the project on a free loopback port, always stopped.

Serves ``config.wsgi`` with the benchmark settings (kit routes and baseline
routes in the same processes)::

    with gunicorn_server(env, workers=2) as server:
        httpx.get(f"{server.base_url}/status")
        server.cpu_seconds()     # CPU used by the master and workers so far
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"
START_TIMEOUT = 30.0


@dataclass(frozen=True)
class Server:
    base_url: str
    pid: int

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the master and its workers; None without /proc."""
        try:
            children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
            pids = [self.pid, *(int(pid) for pid in children)]
            return sum(_cpu_seconds(pid) for pid in pids)
        except (OSError, ValueError):
            return None


def _cpu_seconds(pid: int) -> float:
    # Fields after the parenthesised command name; utime and stime are the
    # 14th and 15th fields of the line, in clock ticks.
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A port the kernel just handed out; free unless someone races us."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_ready(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode} while starting")
        try:
            httpx.get(f"{base_url}/status", timeout=1.0)
        except httpx.TransportError:
            time.sleep(0.1)
            continue
        return
    raise RuntimeError(f"gunicorn did not answer at {base_url} within {START_TIMEOUT:.0f} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    # SIGTERM lets the master stop its workers; SIGKILL the group if it hangs.
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@contextmanager
def gunicorn_server(
    env: dict[str, str], *, workers: int = 2, worker_class: str = "sync", threads: int = 1
) -> Iterator[Server]:
    """Run gunicorn until the block exits; yields its URL and process id."""
    port = free_port()
    command = [
        str(GUNICORN),
        "config.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        f"--worker-class={worker_class}",
        f"--threads={threads}",
        "--log-level=warning",
        # No control socket: its default path is shared by every gunicorn of
        # the user, and the benchmark never uses it.
        "--no-control-socket",
    ]
    # A session of its own, so that a stuck server can be killed with its
    # workers and never receives the terminal's Ctrl-C twice.
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(base_url, process)
        yield Server(base_url, process.pid)
    finally:
        _stop(process)
