"""Honcho in the background for ``ucloud_up``, and stopping it and all it started.

honcho runs in a session of its own; its pid is kept in ``<run dir>/honcho.pid``.
Stopping sends it SIGTERM (it passes SIGTERM on to each process group it
started, and SIGKILL after 5 s), then kills whatever is left that carries
``UCLOUD_RUN_DIR=<run dir>`` in its environment (nginx: the run folder on its
command line)::

    honcho = start_honcho(run_dir, project, env)
    stop(run_dir)          # -> number of processes that were running
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from ucloud.deploy.processes import alive, cmdline, start, wait_gone

STOP_DEADLINE = 20.0


def pid_file(run_dir: Path) -> Path:
    return run_dir / "honcho.pid"


def log_file(run_dir: Path) -> Path:
    return run_dir / "honcho.log"


def running_honcho(run_dir: Path) -> int | None:
    """The pid of the honcho of ``run_dir`` if it still runs (a reused pid does not count)."""
    try:
        pid = int(pid_file(run_dir).read_text().strip())
    except (OSError, ValueError):
        return None
    if alive(pid) and "honcho" in cmdline(pid):
        return pid
    return None


def start_honcho(run_dir: Path, project: Path, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """honcho running ``<run dir>/Procfile`` in the background, logging to ``honcho.log``."""
    command = [
        sys.executable, "-m", "honcho",
        "--procfile", str(run_dir / "Procfile"),
        "--app-root", str(project),
        "start",
    ]  # fmt: skip
    # A session of its own: it survives `make`, and is one group to signal.
    honcho = start(command, env=env, log=log_file(run_dir), cwd=project)
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
        command = cmdline(int(entry.name))
        ours = marker in environ or (command.startswith("nginx:") and str(run_dir) in command)
        if ours and alive(int(entry.name)):
            found.append(int(entry.name))
    return sorted(found)


def stop(run_dir: Path) -> int:
    """Stop honcho and every process of the deployment; return how many ran."""
    before = set(deployment_processes(run_dir))
    honcho = running_honcho(run_dir)
    if honcho is not None:
        before.add(honcho)
        with contextlib.suppress(ProcessLookupError):
            os.kill(honcho, signal.SIGTERM)
        wait_gone([honcho], STOP_DEADLINE)
    leftovers = deployment_processes(run_dir)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        leftovers = wait_gone(leftovers, STOP_DEADLINE / 2)
    pid_file(run_dir).unlink(missing_ok=True)
    return len(before)


def log_tail(run_dir: Path, lines: int = 40) -> str:
    path = log_file(run_dir)
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])
