"""Processes of a deployment on this machine: ``manage.py`` runs and process groups.

The one place from which ``manage.py ucloud_up``, the test harness
(``ucloud.testing``) and the benchmarks start the project's processes: a
``manage.py`` command with a given environment, a long-running process in a
process group of its own, and the stopping of such a group::

    env = clean_environment()                      # this shell minus the topology's variables
    manage(env, "ucloud_migrate")                  # ManageFailed carries its output
    process = start(manage_argv("ucloud_worker"), env=env, log=Path("worker.log"))
    stop_groups([process.pid])                     # SIGTERM, then SIGKILL, until none is left

Process state is read from ``/proc`` (Linux).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from django.conf import settings

from ucloud.deploy.environment import TOPOLOGY_VARIABLES

COMMAND_TIMEOUT = 120.0
STOP_DEADLINE = 15.0


def project_dir() -> Path:
    """The project's folder (``BASE_DIR`` of its settings, else the working folder)."""
    return Path(getattr(settings, "BASE_DIR", Path.cwd())).resolve()


def find_nginx() -> str:
    """nginx's path; Debian installs it in /usr/sbin, often not on a user's PATH."""
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    return shutil.which("nginx", path=search) or "nginx"


def root_user() -> str | None:
    """``root`` when this runs as root: for ``--nginx-user`` when nginx started
    the same way should keep its workers as root rather than nobody, who may
    not read a private run folder (``ucloud_up`` asks for it)."""
    return "root" if hasattr(os, "geteuid") and os.geteuid() == 0 else None


def clean_environment(drop: Iterable[str] = ()) -> dict[str, str]:
    """This process's environment without the variables that would bend a
    unit's place in the topology (each unit's own environment sets them),
    and without ``drop``."""
    dropped = {*TOPOLOGY_VARIABLES, *drop}
    return {
        key: value
        for key, value in os.environ.items()
        if key not in dropped and not key.startswith("DATABASE_URL_")
    }


class ManageFailed(RuntimeError):
    """A ``manage.py`` command exited non-zero; the message carries its output."""

    def __init__(self, args: Sequence[str], returncode: int, output: str) -> None:
        super().__init__(f"manage.py {' '.join(args)} exited {returncode}:\n{output}")
        self.returncode = returncode
        self.output = output


def manage_argv(*args: str, project: Path | None = None) -> list[str]:
    """The command line of ``manage.py args`` with this interpreter."""
    return [sys.executable, str((project or project_dir()) / "manage.py"), *args]


def manage(
    env: Mapping[str, str],
    *args: str,
    project: Path | None = None,
    timeout: float = COMMAND_TIMEOUT,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``manage.py args`` with exactly ``env`` in the project's folder.

    Its output is captured; with ``check``, a non-zero exit is ``ManageFailed``.
    """
    folder = project or project_dir()
    done = subprocess.run(
        manage_argv(*args, project=folder),
        env=dict(env),
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and done.returncode != 0:
        raise ManageFailed(args, done.returncode, done.stdout + done.stderr)
    return done


def start(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    log: Path,
    cwd: Path | None = None,
    own_group: bool = True,
    pass_fds: Sequence[int] = (),
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in the background, its output appended to ``log``.

    With ``own_group`` it leads a new session, so that one signal to its
    group reaches it and every process it starts (gunicorn's workers, a
    Celery pool) and nothing else.
    """
    with log.open("ab") as output:
        return subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd or project_dir(),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=own_group,
            pass_fds=tuple(pass_fds),
        )


def cmdline(pid: int) -> str:
    """The command line of ``pid`` ("" when it is gone)."""
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _stat_fields(pid: int) -> list[str]:
    """Fields of /proc/<pid>/stat after the command name (which may hold spaces)."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return []
    return stat.rsplit(")", 1)[1].split()


def alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (exited, not yet collected) is not alive."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = _stat_fields(pid)
    return not fields or fields[0] != "Z"


def parent_of(pid: int) -> int:
    """The parent's pid of ``pid`` (0 when it is gone)."""
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else 0


def group_members(group: int) -> list[int]:
    """Live (not zombie) processes of a process group."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields and int(fields[2]) == group and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def signal_group(group: int, signum: int) -> None:
    """``signum`` to every process of ``group``; a group already gone is fine."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signum)


def wait_gone(pids: Iterable[int], deadline: float = STOP_DEADLINE) -> list[int]:
    """Wait until none of ``pids`` is alive, or ``deadline`` passed; those still alive."""
    left = list(pids)
    give_up = time.monotonic() + deadline
    while left and time.monotonic() < give_up:
        time.sleep(0.05)
        left = [pid for pid in left if alive(pid)]
    return [pid for pid in left if alive(pid)]


def wait_group_gone(group: int, deadline: float = STOP_DEADLINE) -> None:
    """Wait until ``group`` has no live member; RuntimeError naming survivors."""
    give_up = time.monotonic() + deadline
    while members := group_members(group):
        if time.monotonic() > give_up:
            raise RuntimeError(f"process group {group} survived: {members}")
        time.sleep(0.05)


def stop_groups(groups: Sequence[int], deadline: float = STOP_DEADLINE) -> None:
    """SIGTERM every group (a graceful stop), SIGKILL what is left after ``deadline``."""
    for group in groups:
        signal_group(group, signal.SIGTERM)
    give_up = time.monotonic() + deadline
    while any(group_members(group) for group in groups) and time.monotonic() < give_up:
        time.sleep(0.1)
    for group in groups:
        signal_group(group, signal.SIGKILL)


def kill_group(process: subprocess.Popen[bytes], deadline: float = STOP_DEADLINE) -> None:
    """SIGKILL the whole group ``process`` leads at once, as a crash would, and
    wait until every member is gone."""
    signal_group(process.pid, signal.SIGKILL)
    process.wait(timeout=deadline)
    wait_group_gone(process.pid, deadline)
