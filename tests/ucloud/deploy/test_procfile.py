"""The Procfile: one line per process, each with its unit's environment."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ucloud.deploy.environment import unit_environment
from ucloud.deploy.procfile import process_specs, procfile_files, render_env_file

BASE = {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres", "REDIS_URL": "redis://r/0"}


@pytest.fixture
def specs(sample_topology, tmp_path):
    return process_specs(
        sample_topology, base=BASE, run_dir=str(tmp_path), repo_dir="/srv/app", python="py"
    )


def test_web_per_replica_worker_when_asked_beat_once_and_the_gateway(specs):
    assert [(spec.name, spec.kind) for spec in specs] == [
        ("accounts_web", "web"),
        ("files_web", "web"),
        ("files_web2", "web"),
        ("files_worker", "worker"),
        ("notifications_web", "web"),
        ("notifications_worker", "worker"),
        ("notifications_beat", "beat"),
        ("gateway", "gateway"),
    ]


def test_replicas_bind_their_own_loopback_ports_with_a_private_control_socket(specs):
    web = {spec.name: spec.argv for spec in specs if spec.kind == "web"}

    assert web["files_web"][web["files_web"].index("--bind") + 1] == "127.0.0.1:9002"
    assert web["files_web2"][web["files_web2"].index("--bind") + 1] == "127.0.0.1:9102"
    assert all("--no-control-socket" in argv for argv in web.values())


def test_worker_concurrency_is_the_units_workers_and_beat_keeps_its_schedule_in_the_run_dir(
    sample_topology, specs, tmp_path
):
    by_name = {spec.name: spec for spec in specs}

    assert by_name["files_worker"].argv == (
        "py", "manage.py", "ucloud_worker", "--concurrency", "1",
    )  # fmt: skip
    beat = by_name["notifications_beat"].argv
    assert beat[beat.index("--schedule") + 1] == f"{tmp_path}/celerybeat-schedule"
    assert by_name["files_worker"].env == {
        **unit_environment(
            sample_topology, sample_topology.unit("files"), target="procfile", base=BASE
        ),
        "PROMETHEUS_MULTIPROC_DIR": f"{tmp_path}/metrics/files",
    }


def test_each_unit_sums_the_metrics_of_its_own_processes_only(specs, tmp_path):
    folders = {spec.name: spec.env.get("PROMETHEUS_MULTIPROC_DIR") for spec in specs if spec.unit}

    assert folders["files_web"] == folders["files_web2"] == folders["files_worker"]
    assert folders["files_web"] == f"{tmp_path}/metrics/files"
    assert folders["notifications_beat"] == f"{tmp_path}/metrics/notifications"


def test_the_gateway_runs_the_generated_nginx_conf_from_the_run_dir(specs, tmp_path):
    gateway = specs[-1]

    assert gateway.argv[gateway.argv.index("-c") + 1] == f"{tmp_path}/nginx.conf"
    assert gateway.argv[gateway.argv.index("-p") + 1] == str(tmp_path)


def test_honcho_reads_the_procfile(sample_topology, tmp_path):
    files = procfile_files(sample_topology, base=BASE, run_dir=str(tmp_path), repo_dir="/srv/app")
    (tmp_path / "Procfile").write_text(files["Procfile"])

    result = subprocess.run(
        [sys.executable, "-m", "honcho", "-f", str(tmp_path / "Procfile"), "check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "files_web2" in result.stderr


def test_procfile_lines_source_the_units_env_file_and_exec_the_process(sample_topology, tmp_path):
    files = procfile_files(sample_topology, base=BASE, run_dir=str(tmp_path), repo_dir="/srv/app")
    line = next(x for x in files["Procfile"].splitlines() if x.startswith("files_worker:"))

    assert line.startswith(f"files_worker: cd /srv/app && . {tmp_path}/env/files.env && exec ")
    assert set(files) == {
        "Procfile",
        "nginx.conf",
        "env/accounts.env",
        "env/files.env",
        "env/notifications.env",
    }


def test_an_env_file_sourced_by_sh_gives_exactly_the_units_environment(tmp_path):
    env = {"UCLOUD_SERVICES": "files", "DJANGO_SECRET_KEY": 'it\'s $HOME `x` "q"'}
    path = tmp_path / "files.env"
    path.write_text(render_env_file(env))

    # A topology variable the shell inherited is cleared, not kept.
    inherited = {"PATH": "/usr/bin:/bin", "UCLOUD_GATEWAY_URL": "http://elsewhere"}
    script = f". {path} && env -0"
    result = subprocess.run(
        ["sh", "-c", script], env=inherited, capture_output=True, check=True, timeout=30
    )
    seen = dict(item.split("=", 1) for item in result.stdout.decode().split("\0") if item)

    assert seen["UCLOUD_SERVICES"] == "files"
    assert seen["DJANGO_SECRET_KEY"] == env["DJANGO_SECRET_KEY"]
    assert "UCLOUD_GATEWAY_URL" not in seen
