"""``DistributedLock``, the backend choice and ``run_exclusively``.

::

    with DistributedLock("jobs.prune", ttl=30, timeout=5) as lock:
        prune(fencing_token=lock.fencing_token)
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import connections

from ucloud import observers
from ucloud.locks.base import Holder, LockBackend, LockError, LockLost, LockTimeout
from ucloud.locks.local import LOCAL_LOCKS
from ucloud.settings import ucloud_settings

logger = logging.getLogger("ucloud.locks")

P = ParamSpec("P")
R = TypeVar("R")

BACKEND_NAMES = ("redis", "postgresql", "local")

# Backends built from settings, by name; reset when the settings change.
_backends: dict[str, LockBackend] = {}


def configured_backend_name() -> str:
    """``UCLOUD["LOCK_BACKEND"]``, else Redis if configured, else the database's kind."""
    name: str | None = ucloud_settings.LOCK_BACKEND
    if name:
        return name
    if ucloud_settings.REDIS_URL:
        return "redis"
    if connections["default"].vendor == "postgresql":
        return "postgresql"
    return "local"


def get_backend(backend: LockBackend | str | None = None) -> LockBackend:
    """The backend instance for a name (or the configured one); instances pass through."""
    if isinstance(backend, LockBackend):
        return backend
    name = backend or configured_backend_name()
    found = _backends.get(name)
    if found is None:
        found = _backends[name] = _build_backend(name)
    return found


def _build_backend(name: str) -> LockBackend:
    if name == "redis":
        url = ucloud_settings.REDIS_URL
        if not url:
            raise ImproperlyConfigured("The redis lock backend needs UCLOUD['REDIS_URL'].")
        from ucloud.locks.redis import RedisLocks

        return RedisLocks.from_url(url)
    if name == "postgresql":
        if connections["default"].vendor != "postgresql":
            raise ImproperlyConfigured("The postgresql lock backend needs a PostgreSQL database.")
        from ucloud.locks.postgres import PostgresLocks

        return PostgresLocks("default")
    if name == "local":
        return LOCAL_LOCKS
    raise ImproperlyConfigured(
        f"Unknown lock backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}."
    )


def _reset_backends(*, setting: str, **kwargs: Any) -> None:
    if setting in ("UCLOUD", "DATABASES"):
        _backends.clear()


setting_changed.connect(_reset_backends)


def _pauses() -> Iterator[float]:
    """Jittered, growing pauses between attempts: quick at first, 50 ms at most."""
    pause = 0.002
    while True:
        # Jitter keeps contenders that woke together from retrying together.
        yield random.uniform(pause / 2, pause)
        pause = min(pause * 2, 0.05)


class DistributedLock:
    """A named lock shared by every process that uses the same backend.

    One object is one would-be holder, used by one thread; locks are not
    reentrant. ``ttl`` (seconds) bounds how long a crashed holder blocks
    others (PostgreSQL: until its connection dies instead); renew long work
    before it runs out. ``timeout`` is how long the ``with`` statement waits
    (None: forever) before it raises ``LockTimeout``.
    """

    def __init__(
        self,
        name: str,
        ttl: float,
        *,
        timeout: float | None = None,
        backend: LockBackend | str | None = None,
    ) -> None:
        if ttl <= 0:
            raise ValueError(f"A lock's ttl must be positive, not {ttl!r}")
        self.name = name
        self.ttl = ttl
        self.timeout = timeout
        self.backend = get_backend(backend)
        self._holder: Holder | None = None
        self._fencing_token: int | None = None

    def __repr__(self) -> str:
        state = "held" if self.held else "not held"
        return f"<DistributedLock {self.name!r} ({self.backend.name}, {state})>"

    @property
    def held(self) -> bool:
        """Whether this object acquired the lock and has not released or lost it since."""
        return self._fencing_token is not None

    @property
    def fencing_token(self) -> int:
        """The token of the current acquisition; higher than every earlier one."""
        if self._fencing_token is None:
            raise LockError(f"Lock {self.name!r} is not held by this object")
        return self._fencing_token

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take the lock; False if not blocking, or not within ``timeout`` seconds."""
        if self.held:
            raise LockError(f"Lock {self.name!r} is already held by this object")
        if not blocking and timeout is not None:
            raise ValueError("A timeout makes no sense for a non-blocking acquire")
        holder = self.backend.holder(self.name)
        started = time.monotonic()
        try:
            token = self._attempt(holder, blocking, timeout)
        except BaseException:
            holder.abandon()
            raise
        observer = observers.locks
        if observer is not None:
            outcome = "acquired" if token is not None else "timeout" if blocking else "busy"
            observer.acquisition(self.name, self.backend.name, outcome, time.monotonic() - started)
        if token is None:
            holder.abandon()
            return False
        self._holder, self._fencing_token = holder, token
        return True

    def _attempt(self, holder: Holder, blocking: bool, timeout: float | None) -> int | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        for pause in _pauses():
            token = holder.try_acquire(self.ttl)
            if token is not None or not blocking:
                return token
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                pause = min(pause, remaining)
            time.sleep(pause)
        raise AssertionError("unreachable: _pauses() never ends")

    def renew(self, ttl: float | None = None) -> bool:
        """Extend the lock to ``ttl`` (default: the lock's) seconds from now.

        Returns True, or raises ``LockLost`` when the lock expired or another
        holder took it: the caller must stop the work it guards.
        """
        holder = self._held_holder()
        if holder.renew(self.ttl if ttl is None else ttl):
            return True
        self._forget()
        self._report_lost()
        raise LockLost(f"Lock {self.name!r} was lost before it could be renewed")

    def release(self) -> bool:
        """Give the lock up; False (and a warning) when it had already been lost.

        A lost lock is never deleted: it may belong to another holder by now.
        """
        holder = self._held_holder()
        try:
            released = holder.release()
        finally:
            self._forget()
        if not released:
            logger.warning("Lock %r had been lost before its release", self.name)
            self._report_lost()
        return released

    def _report_lost(self) -> None:
        observer = observers.locks
        if observer is not None:
            observer.lost(self.name, self.backend.name)

    def _held_holder(self) -> Holder:
        if self._holder is None:
            raise LockError(f"Lock {self.name!r} is not held by this object")
        return self._holder

    def _forget(self) -> None:
        if self._holder is not None:
            self._holder.abandon()
        self._holder, self._fencing_token = None, None

    def __enter__(self) -> DistributedLock:
        if not self.acquire(timeout=self.timeout):
            raise LockTimeout(f"Could not acquire lock {self.name!r} within {self.timeout} s")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # A renew that raised LockLost already dropped the lock.
        if self.held:
            self.release()


def run_exclusively(
    name: str, ttl: float, *, backend: LockBackend | str | None = None
) -> Callable[[Callable[P, R]], Callable[P, R | None]]:
    """Decorate a job so that only one instance at a time runs it.

    A call that finds the lock held elsewhere skips the job and returns None;
    the lock is released when the job returns, so ``ttl`` should exceed the
    job's duration::

        @run_exclusively("jobs.prune", ttl=300)
        def prune() -> int: ...
    """

    def decorate(job: Callable[P, R]) -> Callable[P, R | None]:
        @functools.wraps(job)
        def run(*args: P.args, **kwargs: P.kwargs) -> R | None:
            # The backend is looked up per call: settings are not read at import.
            lock = DistributedLock(name, ttl, backend=backend)
            if not lock.acquire(blocking=False):
                logger.debug("Skipped %s: lock %r is held elsewhere", job.__qualname__, name)
                return None
            try:
                return job(*args, **kwargs)
            finally:
                if lock.held:
                    lock.release()

        return run

    return decorate
