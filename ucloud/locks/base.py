"""What every lock backend provides, and the errors locks raise.

A backend hands out one ``Holder`` per acquisition attempt of a lock name;
the holder keeps what it needs to prove ownership later (a random token, a
database connection). Fencing tokens of one name only grow, also across a
lost counter (a flushed Redis, a restarted process): counters start from
the current time in microseconds. Writers check them in their own database
(``ucloud.locks.fence``)::

    holder = backend.holder("jobs.prune")
    fencing_token = holder.try_acquire(ttl=30.0)   # None while someone else holds it
"""

from __future__ import annotations

import abc
import time
from dataclasses import dataclass


class LockError(Exception):
    """Base class of the lock errors; also raised for misuse (release of a lock not held)."""


class LockTimeout(LockError, TimeoutError):
    """The lock could not be acquired within the timeout (context manager)."""


class LockLost(LockError):
    """The lock expired or was taken over: the holder no longer owns it."""


class StaleFencingToken(LockError):
    """A write came with a fencing token older than one already accepted."""

    def __init__(self, name: str, token: int) -> None:
        self.name = name
        self.token = token
        super().__init__(
            f"Fencing token {token} of lock {name!r} is older than one already "
            "accepted: its holder lost the lock"
        )


class Holder(abc.ABC):
    """One would-be holder of one lock name, from the first attempt to release."""

    @abc.abstractmethod
    def try_acquire(self, ttl: float) -> int | None:
        """Take the lock for ``ttl`` seconds; its fencing token, or None when held elsewhere."""

    @abc.abstractmethod
    def renew(self, ttl: float) -> bool:
        """Extend the lock to ``ttl`` seconds from now; False when it is no longer ours."""

    @abc.abstractmethod
    def release(self) -> bool:
        """Give the lock up; False when it was no longer ours (nothing released)."""

    def abandon(self) -> None:  # noqa: B027 (only holders with resources override it)
        """Free what an attempt that did not acquire the lock holds on to."""


def time_floor() -> int:
    """The lowest fencing token a fresh counter may issue: now, in microseconds."""
    return time.time_ns() // 1000


@dataclass(frozen=True)
class HeldLock:
    """A lock held right now, as the admin shows it."""

    name: str
    # Who holds it: host and process id where the backend can tell.
    holder: str
    fencing_token: int | None
    # Seconds until it expires unless renewed; None: until released.
    time_left: float | None


class LockBackend(abc.ABC):
    """Where locks live: Redis, PostgreSQL or this process."""

    #: The backend's name in ``UCLOUD["LOCK_BACKEND"]``.
    name: str

    @abc.abstractmethod
    def holder(self, name: str) -> Holder:
        """A new holder for one acquisition of the lock ``name``."""

    def held_locks(self) -> list[HeldLock]:
        """The locks held now, by name (for inspection; may be partial)."""
        return []
