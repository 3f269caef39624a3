"""Fixtures of the event-delivery proofs: a shared scratch database, a private
Redis, and a probe deployment that stops every process it started.

The database is PostgreSQL when ``DATABASE_URL`` names one (a fresh database
on that server), else a SQLite file: workers and the test share it, so it is
never in memory::

    def test_something(deployment, broker):
        deployment.start_worker()
        deployment.produce(count=10).result()
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require
from tests.events.deployment import ProbeDeployment, environment
from tests.events.observations import EventDatabase
from ucloud.deploy.database_server import server_reachable
from ucloud.deploy.processes import manage
from ucloud.testing.private_redis import PrivateRedis
from ucloud.testing.scratch import scratch_database


@pytest.fixture(scope="session")
def event_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventDatabase]:
    """One migrated scratch database for all proofs; each proof empties it first."""
    configured = os.environ.get("DATABASE_URL", "")
    if configured and "postgres" in configured.split(":", 1)[0]:
        require(server_reachable(configured), f"PostgreSQL at {configured}")
    directory = tmp_path_factory.mktemp("events-db")
    with scratch_database(directory) as url:
        manage(environment(url, directory), "migrate", "--noinput")
        yield EventDatabase(url)


@pytest.fixture
def deployment(event_database: EventDatabase, tmp_path: Path) -> Iterator[ProbeDeployment]:
    event_database.reset()
    found = ProbeDeployment(event_database, tmp_path, environment(event_database.url, tmp_path))
    try:
        yield found
    finally:
        found.close()


@pytest.fixture
def broker(
    deployment: ProbeDeployment, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[PrivateRedis]:
    """A private Redis as the deployment's broker and event streams; stopped
    after the workers. Parametrize indirectly with ``{"appendonly": True}``
    for one that keeps what it acknowledged across a crash."""
    require(shutil.which("redis-server") is not None, "redis-server (for a private Redis)")
    options = getattr(request, "param", {})
    redis = PrivateRedis(tmp_path, **options)
    redis.start()
    deployment.use_broker(redis)
    try:
        yield redis
    finally:
        deployment.close()
        redis.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Attach the workers' and producers' logs to the report of a failed proof."""
    report = yield
    found = getattr(item, "funcargs", {}).get("deployment")
    if report.when == "call" and report.failed and isinstance(found, ProbeDeployment):
        report.sections.append(("event processes", found.logs()))
    return report
