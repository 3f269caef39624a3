"""Start honcho in the background and stop it, and everything it started, again.

honcho runs in a session of its own; its pid is kept in ``.run/honcho.pid``.
Stopping sends it SIGTERM (it passes SIGTERM on to each process group it
started, and SIGKILL after 5 s), then kills whatever is left that carries
``UCLOUD_RUN_DIR=<run dir>`` in its environment (nginx: the run folder on its
command line)::

    honcho = start_honcho(run_dir, repo, env)
    stop(run_dir)          # -> number of processes that were running
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

STOP_DEADLINE = 20.0


def pid_file(run_dir: Path) -> Path:
    return run_dir / "honcho.pid"


def log_file(run_dir: Path) -> Path:
    return run_dir / "honcho.log"


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie has exited; only its parent has not collected it yet.
    with contextlib.suppress(OSError):
        stat = (Path("/proc") / str(pid) / "stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def running_honcho(run_dir: Path) -> int | None:
    """The pid of the honcho of ``run_dir`` if it still runs (a reused pid does not count)."""
    try:
        pid = int(pid_file(run_dir).read_text().strip())
    except (OSError, ValueError):
        return None
    if _alive(pid) and "honcho" in _cmdline(pid):
        return pid
    return None


def start_honcho(run_dir: Path, repo: Path, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "honcho",
        "--procfile", str(run_dir / "Procfile"),
        "--app-root", str(repo),
        "start",
    ]  # fmt: skip
    with log_file(run_dir).open("ab") as log:
        honcho = subprocess.Popen(
            command,
            env=dict(env),
            cwd=repo,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives `make`, and one group to signal
        )
    pid_file(run_dir).write_text(f"{honcho.pid}\n")
    return honcho


def deployment_processes(run_dir: Path) -> list[int]:
    """Live processes started for ``run_dir`` (by environment marker or command line)."""
    marker = f"UCLOUD_RUN_DIR={run_dir}".encode()
    spared = {os.getpid(), os.getppid()}
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in spared:
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        # nginx rewrites its environment for its process titles; its command
        # line still names the run folder.
        cmdline = _cmdline(int(entry.name))
        ours = marker in environ or (cmdline.startswith("nginx:") and str(run_dir) in cmdline)
        if ours and _alive(int(entry.name)):
            found.append(int(entry.name))
    return sorted(found)


def _wait_gone(pids: list[int], deadline: float) -> list[int]:
    give_up = time.monotonic() + deadline
    while time.monotonic() < give_up:
        pids = [pid for pid in pids if _alive(pid)]
        if not pids:
            return []
        time.sleep(0.1)
    return [pid for pid in pids if _alive(pid)]


def stop(run_dir: Path) -> int:
    """Stop honcho and every process of the deployment; return how many ran."""
    before = set(deployment_processes(run_dir))
    honcho = running_honcho(run_dir)
    if honcho is not None:
        before.add(honcho)
        with contextlib.suppress(ProcessLookupError):
            os.kill(honcho, signal.SIGTERM)
        _wait_gone([honcho], STOP_DEADLINE)
    leftovers = deployment_processes(run_dir)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        leftovers = _wait_gone(leftovers, STOP_DEADLINE / 2)
    pid_file(run_dir).unlink(missing_ok=True)
    return len(before)


def log_tail(run_dir: Path, lines: int = 40) -> str:
    path = log_file(run_dir)
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])
