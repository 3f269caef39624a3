"""Process-local locks: the embedded default (SQLite, no Redis).

They exclude threads of this process only, which is all a single-process
development server needs (a deployment of several processes that would
fall back to them fails the system check ``ucloud.E020``); the ttl is
enforced like Redis does, so code behaves the same on both::

    DistributedLock("jobs.prune", ttl=30, backend="local")
"""

from __future__ import annotations

import os
import threading
import time

from ucloud.locks.base import HeldLock, Holder, LockBackend, time_floor


class LocalLocks(LockBackend):
    """Locks and fencing counters in this process's memory."""

    name = "local"

    def __init__(self) -> None:
        self.mutex = threading.Lock()
        # name -> (holder, monotonic expiry)
        self.held: dict[str, tuple[LocalHolder, float]] = {}
        self.issued: dict[str, int] = {}

    def holder(self, name: str) -> LocalHolder:
        return LocalHolder(self, name)

    def owner(self, name: str) -> LocalHolder | None:
        """The live holder of ``name``; call with ``mutex`` held."""
        entry = self.held.get(name)
        if entry is None or entry[1] <= time.monotonic():
            return None
        return entry[0]

    def held_locks(self) -> list[HeldLock]:
        now = time.monotonic()
        with self.mutex:
            return [
                HeldLock(name, f"this process ({os.getpid()})", self.issued.get(name), expiry - now)
                for name, (_, expiry) in sorted(self.held.items())
                if expiry > now
            ]


class LocalHolder(Holder):
    def __init__(self, backend: LocalLocks, name: str) -> None:
        self.backend = backend
        self.name = name

    def try_acquire(self, ttl: float) -> int | None:
        backend = self.backend
        with backend.mutex:
            if backend.owner(self.name) is not None:
                return None
            backend.held[self.name] = (self, time.monotonic() + ttl)
            # Above the clock too: a restarted process must not issue tokens
            # that fence rows written before the restart refuse.
            token = max(backend.issued.get(self.name, 0) + 1, time_floor())
            backend.issued[self.name] = token
            return token

    def renew(self, ttl: float) -> bool:
        with self.backend.mutex:
            if self.backend.owner(self.name) is not self:
                return False
            self.backend.held[self.name] = (self, time.monotonic() + ttl)
            return True

    def release(self) -> bool:
        with self.backend.mutex:
            if self.backend.owner(self.name) is not self:
                return False
            del self.backend.held[self.name]
            return True


# One per process: every lock of the process must see the same state.
LOCAL_LOCKS = LocalLocks()
