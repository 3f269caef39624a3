"""Fixtures of the proof that the system runs apart: one deployment per module.

``apart`` is config/topology.toml (accounts, files, notifications) on free
loopback ports, each unit on its own new PostgreSQL database, a private
``redis-server`` as broker and nginx in front; it is prepared and started
once for the module, and each test gets it with every unit running::

    def test_something(apart: ApartDeployment, broker: PrivateRedis) -> None:
        HttpApi(apart.gateway_url)
        apart.kill("files")

Everything started is stopped and the databases dropped at the end; a
failed test carries the tail of every process's log in its report.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator

import pytest

from tests.conftest import require
from ucloud.deploy.database_server import is_postgres, server_reachable
from ucloud.deploy.local import DEFAULTS
from ucloud.deploy.processes import find_nginx, project_dir
from ucloud.testing import Credentials
from ucloud.testing.apart import ApartDeployment, free_topology
from ucloud.testing.private_redis import PrivateRedis


def postgres_server() -> str:
    """``DATABASE_URL`` when it names a PostgreSQL server, else make up's default server."""
    configured = os.environ.get("DATABASE_URL", "")
    return configured if configured and is_postgres(configured) else DEFAULTS["DATABASE_URL"]


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    """A private Redis (the deployment's broker): its queues are ours to inspect."""
    require(shutil.which("redis-server") is not None, "redis-server (Debian package redis-server)")
    redis = PrivateRedis(tmp_path_factory.mktemp("apart-redis"))
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture(scope="module")
def started(
    broker: PrivateRedis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApartDeployment]:
    server = postgres_server()
    require(server_reachable(server), f"PostgreSQL at {server}")
    require(shutil.which(find_nginx()) is not None, "nginx (Debian package nginx)")
    suffix = secrets.token_hex(4)
    deployment = ApartDeployment(
        free_topology(project_dir() / "config" / "topology.toml", suffix=suffix),
        tmp_path_factory.mktemp("apart-run"),
        server_url=server,
        redis_url=broker.url,
        admin=Credentials("admin", "admin-password-1"),
        secret_key=secrets.token_urlsafe(48),
    )
    try:
        deployment.prepare()
        deployment.start()
        deployment.wait_ready()
        yield deployment
    finally:
        deployment.stop()
        deployment.drop_databases()


@pytest.fixture
def apart(started: ApartDeployment) -> ApartDeployment:
    """The deployment with every unit running again (an earlier test may have killed one)."""
    dead = [unit for unit in started.dead_units() if unit != "gateway"]
    if dead:
        started.start(*dead)
        started.wait_ready(dead)
    return started


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Attach the deployment's process logs to the report of a failed test or setup."""
    report = yield
    found = getattr(item, "funcargs", {}).get("apart") or getattr(item, "funcargs", {}).get(
        "started"
    )
    if report.failed and isinstance(found, ApartDeployment):
        report.sections.append(("deployment logs", found.logs()))
    return report
