"""Process-local locks: the embedded default (SQLite, no Redis).

They exclude threads of this process only, which is all a single-process
development server needs; the ttl is enforced like Redis does, so code
behaves the same on both::

    DistributedLock("jobs.prune", ttl=30, backend="local")
"""

from __future__ import annotations

import threading
import time

from ucloud.locks.base import Holder, LockBackend, StaleFencingToken


class LocalLocks(LockBackend):
    """Locks, fencing counters and accepted tokens in this process's memory."""

    name = "local"

    def __init__(self) -> None:
        self.mutex = threading.Lock()
        # name -> (holder, monotonic expiry)
        self.held: dict[str, tuple[LocalHolder, float]] = {}
        self.issued: dict[str, int] = {}
        self.accepted: dict[str, int] = {}

    def holder(self, name: str) -> LocalHolder:
        return LocalHolder(self, name)

    def check_fencing_token(self, name: str, token: int) -> None:
        with self.mutex:
            if token < self.accepted.get(name, 0):
                raise StaleFencingToken(name, token)
            self.accepted[name] = token

    def owner(self, name: str) -> LocalHolder | None:
        """The live holder of ``name``; call with ``mutex`` held."""
        entry = self.held.get(name)
        if entry is None or entry[1] <= time.monotonic():
            return None
        return entry[0]


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
            token = backend.issued.get(self.name, 0) + 1
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
