"""Locks in Redis: ``SET key token NX PX ttl``, compare-and-delete, fencing counters.

Each lock name uses two keys sharing one hash tag (so that a script that
touches both stays on one Redis Cluster slot)::

    ucloud:lock:{jobs.prune}           the holder's random token, with the ttl
    ucloud:lock:{jobs.prune}:fence     fencing tokens issued (INCR, never expires;
                                       starts at Redis's clock in microseconds)

Every step is one Lua script, so one round trip and atomic::

    backend = RedisLocks.from_url("redis://127.0.0.1:6379/0")
    DistributedLock("jobs.prune", ttl=30, backend=backend)
"""

from __future__ import annotations

import math
import os
import socket
from typing import Any

import redis

from ucloud.locks.base import HeldLock, Holder, LockBackend

# The fencing token is consumed only when SET NX succeeds; 0 means "held".
# A missing counter (first use, or a Redis that lost its data) starts at the
# clock, above every token issued before, which fence rows may remember.
ACQUIRE = """
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    if redis.call('exists', KEYS[2]) == 0 then
        local now = redis.call('time')
        redis.call('set', KEYS[2], now[1] .. string.format('%06d', tonumber(now[2])))
    end
    return redis.call('incr', KEYS[2])
end
return 0
"""

# Compare-and-delete: an expired holder must not delete its successor's lock.
RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""

RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""

KEY_PREFIX = "ucloud:lock:"


class RedisLocks(LockBackend):
    """Locks on one Redis server (any client: its connection pool is shared)."""

    name = "redis"

    def __init__(self, client: redis.Redis, *, prefix: str = KEY_PREFIX) -> None:
        self.client = client
        self.prefix = prefix
        self._acquire = client.register_script(ACQUIRE)
        self._release = client.register_script(RELEASE)
        self._renew = client.register_script(RENEW)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisLocks:
        # Without timeouts a stalled Redis would hang every lock user.
        options.setdefault("socket_timeout", 5.0)
        options.setdefault("socket_connect_timeout", 5.0)
        return cls(redis.Redis.from_url(url, **options))

    def key(self, name: str) -> str:
        return f"{self.prefix}{{{name}}}"

    def holder(self, name: str) -> RedisHolder:
        return RedisHolder(self, self.key(name))

    def held_locks(self) -> list[HeldLock]:
        """Every lock key with its holder, ttl and the last fencing token issued
        (the holder's: a token is issued only when the lock is taken)."""
        keys = sorted(
            key.decode()
            for key in self.client.scan_iter(match=f"{self.prefix}{{*}}", count=500)
            if not key.endswith(b":fence")
        )
        if not keys:
            return []
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.get(key)
            pipe.pttl(key)
            pipe.get(f"{key}:fence")
        answers = pipe.execute()
        found = []
        for index, key in enumerate(keys):
            token, ttl, fence = answers[3 * index : 3 * index + 3]
            if token is None:
                continue  # released between the scan and the reads
            name = key[len(self.prefix) + 1 : -1]
            holder = token.decode(errors="replace").rpartition(":")[0] or "?"
            left = ttl / 1000 if isinstance(ttl, int) and ttl >= 0 else None
            found.append(HeldLock(name, holder, int(fence) if fence else None, left))
        return found


class RedisHolder(Holder):
    def __init__(self, backend: RedisLocks, key: str) -> None:
        self.backend = backend
        self.key = key
        # Proof of ownership, unique to this acquisition; it names the
        # holder's host and process for the admin's list of held locks.
        self.token = f"{socket.gethostname()}:{os.getpid()}:{os.urandom(16).hex()}"

    def try_acquire(self, ttl: float) -> int | None:
        keys = [self.key, f"{self.key}:fence"]
        fencing_token = int(self.backend._acquire(keys=keys, args=[self.token, _ms(ttl)]))
        return fencing_token or None

    def renew(self, ttl: float) -> bool:
        return bool(self.backend._renew(keys=[self.key], args=[self.token, _ms(ttl)]))

    def release(self) -> bool:
        return bool(self.backend._release(keys=[self.key], args=[self.token]))


def _ms(seconds: float) -> int:
    # Rounded up: a ttl of 0.0001 s must still be a positive PX.
    return max(1, math.ceil(seconds * 1000))
