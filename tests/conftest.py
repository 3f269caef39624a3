"""Fixtures shared by the whole suite.

A test that needs a real engine (Redis, PostgreSQL) asks for it through
``require``: in CI (``CI`` set) a missing engine fails the test, elsewhere
it is skipped with the reason.
"""

from __future__ import annotations

import os

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
