"""Fixtures of the scenario tests: an admin, and a deployment of two servers.

``deployment`` starts accounts and files as separate gunicorn processes on
one scratch database, with a private Redis as the event transport and a
worker consuming the notifications group::

    def test_something(deployment):
        HttpApi(deployment.files.url, routes={"/api/accounts": deployment.accounts.url})
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require
from tests.scenario.scenario import Credentials
from ucloud.testing import servers
from ucloud.testing.private_redis import PrivateRedis
from ucloud.testing.scratch import scratch_database
from ucloud.testing.workers import Worker


@pytest.fixture
def admin_credentials() -> Credentials:
    return Credentials("admin", "admin-password-1")


def create_admin(credentials: Credentials) -> None:
    """The superuser the scenario logs in as (ADMIN), made through the ORM."""
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_superuser(
        credentials.username, f"{credentials.username}@example.com", credentials.password
    )


@dataclass
class Deployment:
    accounts: servers.ServerProcess
    files: servers.ServerProcess
    worker: Worker
    admin: Credentials
    # /status bodies each server answered once ready.
    accounts_status: dict[str, Any]
    files_status: dict[str, Any]

    def stop(self) -> None:
        # Files first: it calls accounts, never the other way round.
        self.files.stop()
        self.accounts.stop()

    def logs(self) -> str:
        return f"{self.accounts.logs()}\n{self.files.logs()}\n{self.worker.logs()}"


def _start(name: str, env: dict[str, str], log_dir: Path, started: list[servers.ServerProcess]):
    server = servers.start_server(name, env, log_dir=log_dir)
    started.append(server)
    return server, servers.wait_until_ready(server)


@pytest.fixture
def deployment(tmp_path: Path, admin_credentials: Credentials) -> Iterator[Deployment]:
    """accounts (with notifications) and files in two gunicorn processes
    sharing one fresh database, and a worker of the notifications group.

    A process without a broker runs only the processors of the services it
    serves, and files' process does not serve notifications: its events
    reach notifications through the streams of a (private) Redis.
    """
    require(shutil.which("redis-server") is not None, "redis-server (for a private Redis)")
    started: list[servers.ServerProcess] = []
    redis = PrivateRedis(tmp_path)
    redis.start()
    worker: Worker | None = None
    with scratch_database(tmp_path) as database_url:
        env = servers.server_environment(database_url, secret_key=secrets.token_urlsafe(40))
        env.update(CELERY_BROKER_URL=redis.url, REDIS_URL=redis.url)
        servers.prepare_database(env, admin=admin_credentials)
        try:
            worker = Worker.start(
                {**env, "UCLOUD_SERVICES": "notifications"}, tmp_path / "worker.log"
            )
            worker.wait_until_ready()
            accounts, accounts_status = _start(
                "accounts",
                {**env, "UCLOUD_SERVICES": "accounts,notifications"},
                tmp_path,
                started,
            )
            files_env = {
                **env,
                "UCLOUD_SERVICES": "files",
                "UCLOUD_SERVICE_URLS": f"accounts={accounts.url}",
            }
            files, files_status = _start("files", files_env, tmp_path, started)
            yield Deployment(
                accounts, files, worker, admin_credentials, accounts_status, files_status
            )
        finally:
            for server in reversed(started):
                server.stop()
            if worker is not None:
                worker.stop()
            redis.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Attach the servers' logs to the report of a failed end-to-end test."""
    report = yield
    deployment = getattr(item, "funcargs", {}).get("deployment")
    if report.when == "call" and report.failed and isinstance(deployment, Deployment):
        report.sections.append(("gunicorn logs", deployment.logs()))
    return report
