"""``ucloud.deploy.processes``: manage.py with an environment, process groups."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from ucloud.deploy.processes import (
    ManageFailed,
    clean_environment,
    group_members,
    kill_group,
    manage,
    start,
    stop_groups,
    wait_group_gone,
)


def test_clean_environment_drops_what_places_a_process_in_a_topology(monkeypatch):
    monkeypatch.setenv("UCLOUD_SERVICES", "files")
    monkeypatch.setenv("DATABASE_URL", "postgres://elsewhere/db")
    monkeypatch.setenv("DATABASE_URL_FILES", "postgres://elsewhere/files")
    monkeypatch.setenv("UCLOUD_FORCE_HTTP", "1")
    monkeypatch.setenv("KEPT_VARIABLE", "kept")

    env = clean_environment(drop=("UCLOUD_FORCE_HTTP",))

    assert env["KEPT_VARIABLE"] == "kept"
    dropped = {"UCLOUD_SERVICES", "DATABASE_URL", "DATABASE_URL_FILES", "UCLOUD_FORCE_HTTP"}
    assert not dropped & set(env)


def test_manage_runs_the_projects_manage_py_with_exactly_the_given_environment():
    env = clean_environment()
    listing = manage(env, "help", "--commands").stdout.split()
    assert {"ucloud_up", "ucloud_down", "ucloud_migrate"} <= set(listing)


def test_a_failing_command_is_manage_failed_carrying_its_output():
    with pytest.raises(ManageFailed) as failed:
        manage(clean_environment(), "no_such_command")
    assert failed.value.returncode != 0
    assert "Unknown command: 'no_such_command'" in str(failed.value)
    result = manage(clean_environment(), "no_such_command", check=False)
    assert result.returncode == failed.value.returncode


def _sleepers(tmp_path, trap_term: bool = False) -> subprocess.Popen[bytes]:
    """A shell leading its own group, with two sleeping children."""
    trap = "trap '' TERM; " if trap_term else ""
    script = f"{trap}sleep 600 & sleep 601 & wait"
    return start(["sh", "-c", script], env={"PATH": "/usr/bin:/bin"}, log=tmp_path / "log")


def _wait_for_members(group: int, count: int) -> None:
    give_up = time.monotonic() + 30
    while len(group_members(group)) < count:
        assert time.monotonic() < give_up, group_members(group)
        time.sleep(0.05)


def test_kill_group_kills_the_leader_and_every_process_it_started(tmp_path):
    process = _sleepers(tmp_path)
    _wait_for_members(process.pid, 3)

    kill_group(process)

    assert process.returncode == -signal.SIGKILL
    assert group_members(process.pid) == []


def test_stop_groups_ends_a_group_that_ignores_sigterm_with_sigkill(tmp_path):
    process = _sleepers(tmp_path, trap_term=True)
    _wait_for_members(process.pid, 3)

    stop_groups([process.pid], deadline=0.5)

    process.wait(timeout=15)
    wait_group_gone(process.pid)
    assert process.returncode == -signal.SIGKILL
