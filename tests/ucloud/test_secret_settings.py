"""No process starts with DEBUG off on a secret that is no secret (ucloud.E010).

The check itself, then each entry point for real: ``manage.py`` commands
(system checks: runserver, ucloud_worker, ucloud_migrate...), gunicorn on
``config.wsgi``, ``config.asgi``, Celery beat; and ``make`` writing a random
key to ``.env`` once.
"""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from ucloud.secret_settings import (
    DEVELOPMENT_SECRET_KEY,
    ERROR_ID,
    check_secrets,
    require_real_secrets,
    weakness,
)

REPO = Path(__file__).resolve().parents[2]
GOOD = secrets.token_urlsafe(50)
# Bounds a process that would, wrongly, start and keep running.
EXIT_DEADLINE = 90


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "is empty"),
        (DEVELOPMENT_SECRET_KEY, "is the development default"),
        ("django-insecure-" + "x" * 50, "is the development default"),
        ("CHANGE-ME", "is a placeholder"),
        ("change-me-to-a-long-random-string", "is a placeholder"),
        ("short-but-random-Qx81", "is shorter than 32 characters"),
        ("ab" * 30, "repeats too few characters"),
        (GOOD, None),
    ],
)
def test_weakness_names_why_a_value_is_no_secret(value, reason):
    assert weakness(value) == reason


def test_debug_off_with_the_development_key_is_an_error_naming_the_variable():
    with override_settings(DEBUG=False, SECRET_KEY=DEVELOPMENT_SECRET_KEY, UCLOUD={}):
        [error] = check_secrets()

    assert error.id == ERROR_ID == "ucloud.E010"
    assert error.msg.startswith("DJANGO_SECRET_KEY is the development default")


def test_a_weak_signing_key_is_named_on_its_own():
    with override_settings(DEBUG=False, SECRET_KEY=GOOD, UCLOUD={"SIGNING_KEY": "CHANGE-ME"}):
        [error] = check_secrets()

    assert error.msg.startswith("UCLOUD_SIGNING_KEY is a placeholder")


def test_real_secrets_or_debug_on_pass():
    with override_settings(DEBUG=False, SECRET_KEY=GOOD, UCLOUD={"SIGNING_KEY": GOOD[::-1]}):
        assert check_secrets() == []
        require_real_secrets()
    with override_settings(DEBUG=True, SECRET_KEY=DEVELOPMENT_SECRET_KEY, UCLOUD={}):
        assert check_secrets() == []


def test_the_test_settings_carry_a_key_of_their_own():
    from django.conf import settings

    assert weakness(settings.SECRET_KEY) is None


# --- entry points, as separate processes ----------------------------------------


def without_secret() -> dict[str, str]:
    """The project's settings with DEBUG off and DJANGO_SECRET_KEY empty (so a
    developer's .env, read only for unset variables, cannot fill it in)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("UCLOUD_", "DJANGO_", "CELERY_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_SECRET_KEY="",
        DJANGO_DEBUG="false",
        DATABASE_URL="sqlite:////nonexistent/never-opened.sqlite3",
        # A broker nobody listens on: a worker that started anyway would hang
        # retrying, and the deadline would fail the test.
        CELERY_BROKER_URL="redis://127.0.0.1:9/0",
        PYTHONPATH=str(REPO),
    )
    return env


def refused(command: list[str], env: dict[str, str]) -> str:
    """Run ``command``; assert it exits non-zero naming E010 and the variable."""
    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=EXIT_DEADLINE
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "ucloud.E010" in output, output
    assert "DJANGO_SECRET_KEY" in output, output
    return output


@pytest.mark.parametrize("command", [["check"], ["ucloud_worker", "--concurrency", "1"]])
def test_manage_py_commands_stop_on_the_system_check(command):
    refused([sys.executable, "manage.py", *command], without_secret())


def test_gunicorn_exits_because_its_workers_do_not_boot():
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi",
        "--bind", "127.0.0.1:0", "--workers", "1", "--no-control-socket",
    ]  # fmt: skip

    output = refused(command, without_secret())

    assert "Worker failed to boot" in output


def test_the_asgi_application_refuses_to_load():
    refused([sys.executable, "-c", "import config.asgi"], without_secret())


def test_celery_beat_refuses_to_start(tmp_path):
    command = [
        sys.executable, "-m", "celery", "-A", "config", "beat",
        "--scheduler", "ucloud.heartbeat.celery:Scheduler",
        "--schedule", str(tmp_path / "schedule"),
    ]  # fmt: skip

    refused(command, without_secret())


def test_the_same_processes_start_checks_with_a_real_key():
    # (Redis locks, as a deployment with a broker needs: ucloud.E020.)
    env = {**without_secret(), "DJANGO_SECRET_KEY": GOOD, "REDIS_URL": "redis://127.0.0.1:9/0"}
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--tag", "ucloud"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=EXIT_DEADLINE,
    )
    assert done.returncode == 0, done.stderr


# --- make run: a random key in .env, once ---------------------------------------


def make_secret_key(folder: Path) -> str:
    done = subprocess.run(
        ["make", "-s", "-f", str(REPO / "Makefile"), "secret-key", f"PYTHON={sys.executable}"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_make_writes_a_random_secret_key_to_env_the_first_time_only(tmp_path):
    (tmp_path / ".env").write_text("DJANGO_DEBUG=false")  # no final newline

    assert "wrote a random DJANGO_SECRET_KEY" in make_secret_key(tmp_path)
    first = (tmp_path / ".env").read_text()
    assert make_secret_key(tmp_path) == ""
    assert (tmp_path / ".env").read_text() == first

    debug, key_line = first.splitlines()
    assert debug == "DJANGO_DEBUG=false"
    key = key_line.removeprefix("DJANGO_SECRET_KEY=")
    assert weakness(key) is None
    other = tmp_path / "other"
    other.mkdir()
    make_secret_key(other)
    assert (other / ".env").read_text() != f"DJANGO_SECRET_KEY={key}\n"
    assert stat.S_IMODE((other / ".env").stat().st_mode) == 0o600


def test_env_is_ignored_by_git():
    done = subprocess.run(
        ["git", "check-ignore", "-q", ".env"], cwd=REPO, capture_output=True, timeout=30
    )
    assert done.returncode == 0
