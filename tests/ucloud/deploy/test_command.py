"""``manage.py ucloud_deploy``: every target from the topology file, deterministic."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.ucloud.deploy.conftest import SAMPLE, nginx_test

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def topology_file(tmp_path):
    path = tmp_path / "topology.toml"
    path.write_text(SAMPLE)
    return path


def _deploy(target, out, topology_file, *extra):
    call_command(
        "ucloud_deploy", "--target", target, "--out", str(out), "--topology", str(topology_file),
        *extra,
    )  # fmt: skip


def _snapshot(folder):
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_all_writes_each_target_to_a_folder_of_its_own(tmp_path, topology_file):
    _deploy("all", tmp_path / "out", topology_file)

    assert set(_snapshot(tmp_path / "out")) == {
        "nginx/nginx.conf",
        "procfile/Procfile",
        "procfile/nginx.conf",
        "procfile/env/accounts.env",
        "procfile/env/files.env",
        "procfile/env/notifications.env",
        "compose/docker-compose.yml",
        "compose/nginx.conf",
        "compose/postgres-init.sql",
        "k8s/ucloud.yaml",
    }


def test_generating_twice_gives_byte_identical_files(tmp_path, topology_file):
    out = tmp_path / "out"
    _deploy("all", out, topology_file)
    first = _snapshot(out)
    _deploy("all", out, topology_file)

    assert _snapshot(out) == first


def test_output_does_not_depend_on_hash_randomisation(tmp_path, topology_file):
    snapshots = []
    for seed in ("1", "2"):
        out = tmp_path / "out"
        subprocess.run(
            [sys.executable, str(REPO / "manage.py"), "ucloud_deploy", "--target", "all",
             "--out", str(out), "--topology", str(topology_file)],
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=REPO,
            check=True,
            capture_output=True,
            timeout=120,
        )  # fmt: skip
        snapshots.append(_snapshot(out))

    assert snapshots[0] == snapshots[1]


def test_the_gateway_port_can_be_overridden(tmp_path, topology_file, nginx):
    _deploy("nginx", tmp_path, topology_file, "--gateway-port", "9555")

    assert "listen 127.0.0.1:9555;" in (tmp_path / "nginx.conf").read_text()
    result = nginx_test(nginx, tmp_path / "nginx.conf")
    assert result.returncode == 0, result.stderr


def test_env_files_are_private_and_carry_this_processes_database_server(
    tmp_path, topology_file, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@db.internal:5432/postgres")
    _deploy("procfile", tmp_path, topology_file)

    env_file = tmp_path / "env" / "files.env"
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    assert (
        "export DATABASE_URL=postgres://postgres@db.internal:5432/ucloud_files"
        in env_file.read_text().splitlines()
    )


def test_without_a_database_server_units_get_sqlite_files_in_the_run_dir(
    tmp_path, topology_file, monkeypatch
):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    _deploy("procfile", tmp_path, topology_file)

    lines = (tmp_path / "env" / "files.env").read_text().splitlines()
    assert f"export DATABASE_URL=sqlite:///{tmp_path}/ucloud_files.sqlite3" in lines


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("port = 9002", "port = 9002\nadmin = true"),
         "exactly one unit must have admin = true, found 2"),
        (lambda t: t.replace("port = 9002", "port = 9002\nbeat = true"),
         "exactly one unit must have beat = true, found 2"),
        (lambda t: t.replace('["files"]', '["files", "billing"]'), "unknown service.*billing"),
        (lambda t: t.replace('services = ["notifications"]', 'services = ["accounts"]'),
         "is in both accounts and notifications"),
        (lambda t: t.replace('services = ["notifications"]', 'services = ["notes"]'),
         "notifications in no unit"),
        (lambda t: t.replace("port = 9002", "port = 9001"), "port 9001 is used by both"),
        (lambda t: t.replace("replicas = 2", "replicas = 2\nworkers = 0"),
         r"unit\(s\) files \(files\) serve services with events but have workers = 0"),
    ],
)  # fmt: skip
def test_a_bad_topology_is_a_command_error_naming_the_file(tmp_path, change, message):
    path = tmp_path / "topology.toml"
    path.write_text(change(SAMPLE))

    with pytest.raises(CommandError, match=message) as caught:
        _deploy("nginx", tmp_path / "out", path)

    assert str(path) in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_a_missing_topology_file_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="no such topology file"):
        _deploy("k8s", tmp_path, tmp_path / "absent.toml")
