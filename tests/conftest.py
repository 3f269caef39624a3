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
