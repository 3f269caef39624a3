"""Fixtures shared by the whole suite.

A test that needs a real engine (Redis, PostgreSQL) asks for it through
``require``: in CI (``CI`` set) a missing engine fails the test, elsewhere
it is skipped with the reason.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator

import pytest
from pytest_django import DjangoDbBlocker

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(available: bool, what: str) -> None:
    """Fail in CI, skip elsewhere, when ``what`` is not available."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not reachable")
    pytest.skip(f"{what} is not reachable")


@pytest.fixture
def redis_url() -> str:
    import redis

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        ok = True
    except redis.RedisError:
        ok = False
    require(ok, f"Redis at {url}")
    return url


@pytest.fixture
def osmem_url(request: pytest.FixtureRequest) -> str:
    """The URL of a fresh clone of the session's ``osmem-server`` (an
    in-memory server speaking the Elasticsearch API; its package's pytest
    plugin starts it). Clients need plain JSON (``ELASTICSEARCH_PLAIN_JSON``)."""
    available = importlib.util.find_spec("osmem_server") is not None  # requirements-dev.txt
    require(available, "osmem-server (pip install -r requirements-dev.txt)")
    clone = request.getfixturevalue("osmem_clone")
    return str(clone.url)


def clear_throttles() -> None:
    """Forget every throttle counter (login failures) of the configured store."""
    from django.core.cache import cache

    from ucloud.auth.throttling import KEY_PREFIX, RedisCounters, counter_store
    from ucloud.settings import ucloud_settings

    store = counter_store()
    if isinstance(store, RedisCounters):
        for key in store.client.scan_iter(f"{KEY_PREFIX}*"):
            store.client.delete(key)
    elif not ucloud_settings.REDIS_URL:
        cache.clear()


@pytest.fixture
def fresh_throttles() -> Iterator[None]:
    """Login failures counted by other tests (or runs) do not throttle this one."""
    clear_throttles()
    yield
    clear_throttles()


@pytest.fixture(scope="session", autouse=True)
def throttles_of_earlier_runs_forgotten() -> None:
    """Login failures that earlier runs left in a shared Redis throttle no test."""
    clear_throttles()


@pytest.fixture(scope="session", autouse=True)
def audit_buffer_drained_before_the_test_database_goes(
    django_db_setup: None, django_db_blocker: DjangoDbBlocker
) -> Iterator[None]:
    """Audit records of the last tests are produced into the test database.

    The process's audit buffer flushes once a second and at exit; at exit
    the test database is gone and the settings name the real one again, so
    the last records went there (or failed, with a traceback in the run's
    output). They are flushed while the test database still exists.
    """
    yield
    from ucloud.audit.producer import buffer

    with django_db_blocker.unblock():
        try:
            buffer.flush()
        except Exception:  # a test left its database unusable: nothing to keep
            with buffer._lock:
                buffer._records.clear()
