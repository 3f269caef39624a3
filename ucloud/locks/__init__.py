"""Distributed locks: one holder at a time across every process of a deployment.

``DistributedLock(name, ttl)`` acquires, renews and releases a named lock and
is a context manager; each acquisition carries a fencing token, larger than
any before it, that writers check with ``check_fencing_token`` in the
transaction of their write, in their own database, to refuse a holder that
lost the lock without noticing::

    with DistributedLock("jobs.prune", ttl=30, timeout=5) as lock:
        with transaction.atomic(using="jobs"):
            check_fencing_token("jobs.prune", lock.fencing_token, using="jobs")
            prune()

    @run_exclusively("jobs.prune", ttl=300)   # other instances skip the run
    def prune() -> None: ...

The backend is Redis when ``UCLOUD["REDIS_URL"]`` is set (``SET NX PX`` with
a random token, compare-and-delete), else PostgreSQL advisory locks when that
is the default database (held until release or until the lock's own
connection dies: the ttl is not enforced), else a process-local lock, which
the system check ``ucloud.E020`` refuses where more than one process runs.
``UCLOUD["LOCK_BACKEND"]`` or ``backend=`` picks one explicitly.
"""

from ucloud.locks.base import (
    Holder,
    LockBackend,
    LockError,
    LockLost,
    LockTimeout,
    StaleFencingToken,
)
from ucloud.locks.fence import check_fencing_token
from ucloud.locks.lock import DistributedLock, get_backend, run_exclusively

__all__ = [
    "DistributedLock",
    "Holder",
    "LockBackend",
    "LockError",
    "LockLost",
    "LockTimeout",
    "StaleFencingToken",
    "check_fencing_token",
    "get_backend",
    "run_exclusively",
]
