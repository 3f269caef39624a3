"""``manage.py ucloud_up`` / ``ucloud_down`` (``make up`` / ``make down``): databases,
honcho, the whole run.

The full run starts every unit of a three-unit topology (free ports, its own
databases) under honcho behind nginx, logs in through the gateway, and stops
everything again.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from django.core.management import call_command

from tests.ucloud.deploy.conftest import sample_data
from ucloud.deploy import honcho
from ucloud.deploy.database_server import (
    create_unit_databases,
    drop_databases,
    is_postgres,
    maintenance_connection,
)
from ucloud.deploy.processes import cmdline, manage_argv, project_dir
from ucloud.deploy.topology import load_topology, parse_topology
from ucloud.testing.ports import free_port

DEADLINE = 30.0


def _postgres_server() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url and is_postgres(url) else None


def _unique_databases(topology):
    suffix = secrets.token_hex(4)
    return topology.with_databases(
        {u.name: f"deploy_test_{u.name}_{suffix}" for u in topology.units}
    )


def test_unit_databases_are_created_once_on_postgresql():
    server = _postgres_server()
    if server is None:
        pytest.skip("DATABASE_URL is not PostgreSQL: SQLite files need no creating")
    topology = _unique_databases(parse_topology(sample_data()))
    names = [unit.database for unit in topology.units]
    try:
        assert create_unit_databases(topology, server) == names
        assert create_unit_databases(topology, server) == []
        with maintenance_connection(server) as conn:
            found = conn.execute(
                "SELECT datname FROM pg_database WHERE datname = ANY(%s)", (names,)
            ).fetchall()
        assert sorted(row[0] for row in found) == sorted(names)
    finally:
        drop_databases(server, names)


def test_sqlite_servers_need_no_databases_created(tmp_path):
    topology = parse_topology(sample_data())
    assert create_unit_databases(topology, f"sqlite:///{tmp_path}/db.sqlite3") == []


def _wait_for(condition, what):
    give_up = time.monotonic() + DEADLINE
    while time.monotonic() < give_up:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {DEADLINE}s: {what}")


def test_stop_ends_honcho_and_every_process_it_started(tmp_path):
    (tmp_path / "Procfile").write_text("one: exec sleep 600\ntwo: exec sleep 601\n")
    env = {**os.environ, "UCLOUD_RUN_DIR": str(tmp_path)}
    started = honcho.start_honcho(tmp_path, project_dir(), env)
    try:
        # Popen returns once exec has begun; the kernel fills in the new
        # command line a moment later, and until then /proc shows it empty.
        _wait_for(lambda: honcho.running_honcho(tmp_path) == started.pid, "honcho is found")

        def both_sleeping():
            commands = [cmdline(pid) for pid in honcho.deployment_processes(tmp_path)]
            return sum(command.startswith("sleep") for command in commands) == 2

        _wait_for(both_sleeping, "honcho started both processes")
        stopped = honcho.stop(tmp_path)
        started.wait(timeout=DEADLINE)

        assert stopped >= 3  # honcho and the two sleeps at least
        assert honcho.deployment_processes(tmp_path) == []
        assert honcho.running_honcho(tmp_path) is None
        assert honcho.stop(tmp_path) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(started.pid, 9)


def _local(action: str, run_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        manage_argv(f"ucloud_{action}", "--run-dir", str(run_dir)),
        cwd=project_dir(),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _toml(data) -> str:
    """The sample's shape back as TOML: [gateway] and flat [units.<name>] tables."""
    lines = ["[gateway]", f"port = {data['gateway']['port']}"]
    for name, table in data["units"].items():
        lines.append(f"[units.{name}]")
        # Resources are for Kubernetes only: a local run ignores them.
        lines += [f"{key} = {json.dumps(v)}" for key, v in table.items() if key != "resources"]
    return "\n".join(lines) + "\n"


@pytest.mark.e2e
def test_up_serves_every_unit_behind_the_gateway_and_down_stops_it_all(tmp_path, redis_url, nginx):
    data = sample_data()
    suffix = secrets.token_hex(4)
    for name, table in data["units"].items():
        # files has two replicas: the second listens 100 ports above the first.
        table.update(port=free_port(), database=f"deploy_test_{name}_{suffix}")
    topology_file = tmp_path / "topology.toml"
    topology_file.write_text(_toml(data))
    topology = load_topology(topology_file)
    server = _postgres_server()
    gateway_port = free_port()
    env = {
        **os.environ,
        "UCLOUD_TOPOLOGY": str(topology_file),
        "DATABASE_URL": server or f"sqlite:///{tmp_path}/db.sqlite3",
        "REDIS_URL": redis_url,
        "GATEWAY_PORT": str(gateway_port),
        "DJANGO_SUPERUSER_USERNAME": "admin",
        "DJANGO_SUPERUSER_PASSWORD": "admin-secret-1",
        "DJANGO_SUPERUSER_EMAIL": "admin@example.com",
    }
    run_dir = tmp_path / "run"
    try:
        up = _local("up", run_dir, env)
        assert up.returncode == 0, up.stdout + up.stderr
        gateway = f"http://127.0.0.1:{gateway_port}"
        assert f"[ucloud] gateway   {gateway}" in up.stdout

        login = httpx.post(
            f"{gateway}/api/accounts/login",
            json={"username": "admin", "password": "admin-secret-1"},
        )
        assert login.status_code == 200, login.text
        served = {"accounts": ["accounts"], "files": ["files"],
                  "notifications": ["audit", "notifications"]}  # fmt: skip
        for unit, services in served.items():
            status = httpx.get(f"{gateway}/status/{unit}")
            assert status.status_code == 200, status.text
            assert status.json()["services"] == services
        token = login.json()["access_token"]
        created = httpx.post(
            f"{gateway}/api/files",
            json={"path": "/a.txt", "size": 1},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert created.status_code == 200, created.text

        down = _local("down", run_dir, env)
        assert down.returncode == 0, down.stderr
        assert "[ucloud] stopped" in down.stdout
        assert honcho.deployment_processes(run_dir.resolve()) == []
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{gateway}/status", timeout=2)
        again = _local("down", run_dir, env)
        assert "[ucloud] nothing was running" in again.stdout
    finally:
        honcho.stop(run_dir.resolve())
        if server is not None:
            drop_databases(server, [unit.database for unit in topology.units])


def test_down_with_nothing_running_says_so(tmp_path):
    out = io.StringIO()
    call_command("ucloud_down", "--run-dir", str(tmp_path), stdout=out)
    assert out.getvalue() == "[ucloud] nothing was running\n"
