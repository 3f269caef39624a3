"""The audit trail apart, with real processes: two gunicorn units (accounts
and files; notifications and audit), a private Redis, and a Celery worker
of the audit unit storing the records. Calls over HTTP to the first unit,
failed logins and refused tokens included, become records the second unit
serves to an administrator."""

from __future__ import annotations

import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import require
from ucloud.testing import Credentials
from ucloud.testing.private_redis import PrivateRedis
from ucloud.testing.scratch import scratch_database
from ucloud.testing.servers import (
    ServerProcess,
    prepare_database,
    server_environment,
    start_server,
    wait_until_ready,
)
from ucloud.testing.workers import Worker

pytestmark = pytest.mark.e2e

ADMIN, PASSWORD = "root", "root-password-1"
# Bound on waiting for the worker to store what was produced.
STORED_DEADLINE = 60.0


@pytest.fixture
def units(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess, Worker]]:
    require(shutil.which("redis-server") is not None, "redis-server (for a private Redis)")
    redis = PrivateRedis(tmp_path)
    redis.start()
    started: list[ServerProcess] = []
    worker = None
    try:
        with scratch_database(tmp_path) as url:
            env = server_environment(url, secret_key=secrets.token_urlsafe(40))
            env.update(
                CELERY_BROKER_URL=redis.url,
                UCLOUD_AUDIT_IN_BACKGROUND="true",
                # With ELASTICSEARCH_URL set the trail is stored there: indices of its own.
                UCLOUD_SEARCH_INDEX_PREFIX=f"e2e-{secrets.token_hex(4)}-",
            )
            # (Locks on the private Redis: a broker means several processes.)
            env["REDIS_URL"] = redis.url
            prepare_database(env, admin=Credentials(ADMIN, PASSWORD))
            # Each unit finds the other's services through its URL; the back
            # unit's port is known once its socket is open, so it starts first.
            back_env = {**env, "UCLOUD_SERVICES": "notifications,audit"}
            back = start_server("back", back_env, log_dir=tmp_path)
            started.append(back)
            front_env = {
                **env,
                "UCLOUD_SERVICES": "accounts,files",
                "UCLOUD_SERVICE_URLS": f"notifications={back.url},audit={back.url}",
            }
            front = start_server("front", front_env, log_dir=tmp_path)
            started.append(front)
            wait_until_ready(front)
            wait_until_ready(back)
            worker = Worker.start(back_env, tmp_path / "worker.log")
            worker.wait_until_ready()
            yield front, back, worker
    finally:
        if worker is not None:
            worker.stop()
        for server in started:
            server.stop()
        redis.stop()


def test_records_of_calls_to_one_unit_are_stored_by_the_audit_units_worker(units):
    front, back, worker = units
    http = httpx.Client(timeout=10)
    failed = http.post(f"{front.url}/api/accounts/login",
                       json={"username": ADMIN, "password": "wrong"})  # fmt: skip
    assert failed.status_code == 401
    login = http.post(f"{front.url}/api/accounts/login",
                      json={"username": ADMIN, "password": PASSWORD})  # fmt: skip
    token = login.json()["access_token"]
    auth = {"Authorization": f"Bearer {token}", "User-Agent": "e2e-agent"}
    created = http.post(f"{front.url}/api/files", json={"path": "/q3.pdf", "size": 1}, headers=auth)
    assert created.status_code == 200
    refused = http.get(f"{front.url}/api/files/browse", headers={"Authorization": "Bearer x.y.z"})
    assert refused.status_code == 401

    wanted = {("accounts.login", 401), ("accounts.login", 200), ("files.create", 200),
              ("files.browse", 401)}  # fmt: skip
    found: dict[tuple[str, int], dict] = {}
    give_up = time.monotonic() + STORED_DEADLINE
    while not wanted <= set(found) and time.monotonic() < give_up:
        page = http.get(f"{back.url}/api/audit/browse", params={"items_per_page": 50},
                        headers=auth).json()  # fmt: skip
        found = {(item["call"], item["status"]): item for item in page.get("items", [])}
        time.sleep(0.2)

    assert wanted <= set(found), f"stored: {sorted(found)}\n{worker.logs()[-3000:]}"
    failed_login = found[("accounts.login", 401)]
    assert failed_login["request"] == {"username": ADMIN, "password": "***"}
    assert found[("files.create", 200)]["user_agent"] == "e2e-agent"
    assert found[("files.create", 200)]["username"] == ADMIN
    assert "x.y.z" not in str(found)
