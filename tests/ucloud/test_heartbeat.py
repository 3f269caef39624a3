"""The heartbeat file of workers and beat, and the probe that reads it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery.beat import PersistentScheduler
from celery.signals import heartbeat_sent

from config.celery import app
from ucloud.heartbeat import FILE_VARIABLE, Pulse, beat, seconds_since_beat
from ucloud.heartbeat.celery import Scheduler

REPO = Path(__file__).resolve().parents[2]


def probe(path: Path, max_age: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ucloud.heartbeat", str(path), "--max-age", str(max_age)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def age_file(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_the_probe_fails_without_a_beat_and_when_the_beat_is_stale(tmp_path):
    path = tmp_path / "heartbeat"

    missing = probe(path, 60)
    assert (missing.returncode, missing.stderr.strip()) == (1, f"{path}: no heartbeat yet")

    Pulse(path).beat()
    assert probe(path, 60).returncode == 0
    age_file(path, 300)
    stale = probe(path, 60)
    assert stale.returncode == 1
    assert "last beat 300 s ago (max 60 s)" in stale.stderr


def test_a_pulse_touches_at_most_once_per_interval(tmp_path):
    path = tmp_path / "heartbeat"
    pulse = Pulse(path, min_interval=3600)

    assert pulse.beat() is True
    age_file(path, 100)
    assert pulse.beat() is False
    assert seconds_since_beat(path) >= 99
    assert Pulse(path, min_interval=0).beat() is True
    assert seconds_since_beat(path) < 99


def test_beat_writes_the_file_named_by_the_environment_only(tmp_path, monkeypatch):
    monkeypatch.delenv(FILE_VARIABLE, raising=False)
    assert beat() is False

    monkeypatch.setenv(FILE_VARIABLE, str(tmp_path / "worker"))
    assert beat() is True
    assert seconds_since_beat(tmp_path / "worker") is not None


def test_a_celery_worker_heartbeat_beats_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv(FILE_VARIABLE, str(tmp_path / "worker"))

    heartbeat_sent.send(sender=None)

    assert seconds_since_beat(tmp_path / "worker") is not None


def test_the_beat_scheduler_beats_on_every_tick(tmp_path, monkeypatch):
    monkeypatch.setenv(FILE_VARIABLE, str(tmp_path / "beat"))
    # Celery's own tick would publish due tasks; only ours is under test.
    monkeypatch.setattr(PersistentScheduler, "tick", lambda self, *a, **k: 7.5)
    scheduler = Scheduler(app=app, schedule_filename=str(tmp_path / "schedule"), lazy=True)

    assert scheduler.tick() == 7.5
    assert seconds_since_beat(tmp_path / "beat") is not None


@pytest.mark.parametrize("module", ["ucloud.heartbeat", "ucloud.heartbeat.__main__"])
def test_the_probe_imports_neither_django_nor_celery(module):
    script = (
        f"import sys, {module}; print(sorted(m for m in ('django', 'celery') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "[]", done.stderr
