"""``manage.py ucloud_deploy``: every target from the topology file, deterministic."""

from __future__ import annotations

import os
import re
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
        "compose/postgres-init.sh",
        "compose/secrets.sh",
        "k8s/ucloud.yaml",
        "k8s/create-secrets.sh",
        "k8s/database-roles.sql",
    }


def test_no_generated_file_carries_a_secret_placeholder_or_this_machines_paths(
    tmp_path, topology_file
):
    _deploy("all", tmp_path / "out", topology_file)
    files = _snapshot(tmp_path / "out")

    for name, content in files.items():
        text = content.decode()
        assert "CHANGE-ME" not in text.upper(), name
        if not name.startswith("procfile/"):  # the local run: paths of this machine by design
            # Absolute paths only: compose's build context is relative (../..).
            for folder in (tmp_path, REPO):
                assert not re.search(rf"(?<![\w.]){re.escape(str(folder))}", text), name
    assert "user " not in files["nginx/nginx.conf"].decode().split("http {")[0]


def test_the_nginx_user_directive_is_written_only_when_asked(tmp_path, topology_file):
    _deploy("nginx", tmp_path, topology_file, "--nginx-user", "www-data")

    assert "\nuser www-data;\n" in (tmp_path / "nginx.conf").read_text()


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
        (lambda t: t.replace('services = ["notifications", ', 'services = ["accounts", '),
         "is in both accounts and notifications"),
        (lambda t: t.replace('services = ["notifications", ', 'services = ["notes", '),
         "notifications in no unit"),
        (lambda t: t.replace("port = 9002", "port = 9001"), "port 9001 is used by both"),
        (lambda t: t.replace("replicas = 2", "replicas = 2\nworkers = 0"),
         r"unit\(s\) files \(files\) serve services with events but have workers = 0"),
        (lambda t: t.replace("[units.files]", "[units.live]"), "'live' is reserved"),
        (lambda t: t.replace('cpu = "500m"', 'cpu = "lots"'),
         "'lots' is not a Kubernetes quantity"),
        (lambda t: t.replace('cpu = "500m"', 'cpu = "2"'), "web requests cpu 2 above its limit 1"),
        (lambda t: t.replace('login_rate = "10r/m"', 'login_rate = "10/min"'),
         "login_rate must be"),
        (lambda t: t.replace('"api.example.com"', '"api example"'), "hosts must be a list"),
    ],
)  # fmt: skip
def test_a_bad_topology_is_a_command_error_naming_the_file(tmp_path, change, message):
    path = tmp_path / "topology.toml"
    path.write_text(change(SAMPLE))

    with pytest.raises(CommandError, match=message) as caught:
        _deploy("nginx", tmp_path / "out", path)

    assert str(path) in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_k8s_needs_the_gateways_hosts(tmp_path):
    path = tmp_path / "topology.toml"
    path.write_text(SAMPLE.replace('hosts = ["ucloud.example.com", "api.example.com"]\n', ""))

    with pytest.raises(CommandError, match=r"the k8s target needs \[gateway\] hosts"):
        _deploy("k8s", tmp_path / "out", path)


def test_a_missing_topology_file_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="no such topology file"):
        _deploy("k8s", tmp_path, tmp_path / "absent.toml")
