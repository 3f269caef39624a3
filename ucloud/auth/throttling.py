"""Counting attempts per key in a shared cache, and refusing them past a limit.

A ``Throttle`` allows ``limit`` hits per key within a fixed window of
``window`` seconds; past it, ``check`` raises ``TooManyRequests`` (429) with
the seconds until the window ends (``Retry-After``). Counters live in Redis
when ``UCLOUD["REDIS_URL"]`` is set, else in Django's default cache, so every
process of a deployment counts together (configure ``CACHES`` with a shared
backend when there is no Redis and more than one process)::

    failures = Throttle("accounts.login.username", limit=10, window=600)
    failures.check(username)        # TooManyRequests once 10 failures were counted
    failures.hit(username)          # count one more
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

import redis
from django.core.cache import cache
from django.core.signals import setting_changed

from ucloud.contracts.errors import TooManyRequests
from ucloud.settings import ucloud_settings

logger = logging.getLogger("ucloud.throttling")

KEY_PREFIX = "ucloud:throttle:"

# Counts one hit; the first hit of a window starts its expiry.
_INCREMENT = """
local count = redis.call('incr', KEYS[1])
if count == 1 then
    redis.call('expire', KEYS[1], ARGV[1])
end
return count
"""


class CounterStore(Protocol):
    def count(self, key: str) -> tuple[int, int]:
        """Hits counted for ``key`` in its window, and seconds until the window ends."""

    def increment(self, key: str, window: int) -> None: ...

    def delete(self, key: str) -> None: ...


class RedisCounters:
    def __init__(self, url: str) -> None:
        # Short timeouts: a stalled Redis must not hold a login for long.
        self.client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._increment = self.client.register_script(_INCREMENT)

    def count(self, key: str) -> tuple[int, int]:
        with self.client.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.ttl(key)
            value, ttl = pipe.execute()
        return int(value or 0), max(int(ttl), 1)

    def increment(self, key: str, window: int) -> None:
        self._increment(keys=[key], args=[window])

    def delete(self, key: str) -> None:
        self.client.delete(key)


class CacheCounters:
    """Django's cache: ``add`` starts a window, ``incr`` counts atomically where the backend can."""

    def count(self, key: str) -> tuple[int, int]:
        found = cache.get_many([key, f"{key}:ends"])
        ends = float(found.get(f"{key}:ends") or time.time())
        return int(found.get(key) or 0), max(int(ends - time.time()) + 1, 1)

    def increment(self, key: str, window: int) -> None:
        if cache.add(key, 1, window):
            cache.set(f"{key}:ends", time.time() + window, window)
            return
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr: a new window
            cache.add(key, 1, window)
            cache.set(f"{key}:ends", time.time() + window, window)

    def delete(self, key: str) -> None:
        cache.delete_many([key, f"{key}:ends"])


_stores: dict[str, CounterStore] = {}


def counter_store() -> CounterStore:
    """Redis when configured, else Django's cache."""
    url = ucloud_settings.REDIS_URL
    name = str(url or "cache")
    store = _stores.get(name)
    if store is None:
        store = _stores[name] = RedisCounters(url) if url else CacheCounters()
    return store


def _forget_stores(*, setting: str, **kwargs: Any) -> None:
    if setting in ("UCLOUD", "CACHES"):
        _stores.clear()


setting_changed.connect(_forget_stores)


@dataclass(frozen=True)
class Throttle:
    """At most ``limit`` hits per key within a window of ``window`` seconds."""

    scope: str
    limit: int
    window: int

    def key(self, value: str) -> str:
        # Hashed: user input of any length or alphabet makes a valid cache key.
        digest = hashlib.blake2b(value.encode(), digest_size=16).hexdigest()
        return f"{KEY_PREFIX}{self.scope}:{digest}"

    def check(self, value: str) -> None:
        """Raise ``TooManyRequests`` when ``value`` used up its window's hits."""
        try:
            count, retry_after = counter_store().count(self.key(value))
        except redis.RedisError:
            # Refusing every login while Redis is down would be worse.
            logger.exception("Throttle %s not checked: Redis failed", self.scope)
            return
        if count >= self.limit:
            raise TooManyRequests(
                f"Too many attempts; retry in {retry_after} s", retry_after=retry_after
            )

    def hit(self, value: str) -> None:
        try:
            counter_store().increment(self.key(value), self.window)
        except redis.RedisError:
            logger.exception("Throttle %s not counted: Redis failed", self.scope)

    def reset(self, value: str) -> None:
        try:
            counter_store().delete(self.key(value))
        except redis.RedisError:
            logger.exception("Throttle %s not reset: Redis failed", self.scope)
