"""Distributed locks on each backend: exclusion, expiry, fencing, contention.

Redis and PostgreSQL are the real servers (``redis_url``; PostgreSQL when it
is the default database, as in CI); the contention tests fork processes.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, transaction
from django.test import override_settings

from tests.conftest import require
from ucloud.locks import (
    DistributedLock,
    LockError,
    LockLost,
    LockTimeout,
    StaleFencingToken,
    check_fencing_token,
    get_backend,
    run_exclusively,
)
from ucloud.locks.checks import check_lock_backend
from ucloud.locks.local import LOCAL_LOCKS
from ucloud.locks.models import LockFence
from ucloud.locks.postgres import PostgresLocks, advisory_key
from ucloud.locks.redis import RedisLocks

# PostgreSQL locks live in the test database, which pytest-django only
# creates for tests that declare it; fences are rows of the writer's database.
pytestmark = pytest.mark.django_db

ALL_BACKENDS = ["local", "redis", "postgresql"]
SHARED_BACKENDS = ["redis", "postgresql"]  # shared between processes
EXPIRING_BACKENDS = ["local", "redis"]  # the ttl is enforced


@pytest.fixture
def lock_name() -> str:
    return f"test.{uuid.uuid4().hex}"


@pytest.fixture
def redis_locks(redis_url, lock_name):
    backend = RedisLocks.from_url(redis_url)
    yield backend
    keys = backend.client.keys(f"{backend.key(lock_name)}*")
    if keys:
        backend.client.delete(*keys)
    backend.client.close()


@pytest.fixture
def postgres_locks():
    require(
        connections["default"].vendor == "postgresql",
        "PostgreSQL as the default database (DATABASE_URL)",
    )
    return PostgresLocks("default")


@pytest.fixture
def backend(request):
    fixtures = {"redis": "redis_locks", "postgresql": "postgres_locks"}
    if request.param == "local":
        return LOCAL_LOCKS
    return request.getfixturevalue(fixtures[request.param])


@pytest.mark.parametrize("backend", ALL_BACKENDS, indirect=True)
def test_a_second_holder_cannot_acquire_while_the_lock_is_held(backend, lock_name):
    first = DistributedLock(lock_name, ttl=30, backend=backend)
    second = DistributedLock(lock_name, ttl=30, backend=backend)

    assert first.acquire(blocking=False)
    assert not second.acquire(blocking=False)
    assert not second.acquire(timeout=0.05)
    assert first.held
    assert not second.held
    first.release()


@pytest.mark.parametrize("backend", ALL_BACKENDS, indirect=True)
def test_release_lets_the_next_holder_acquire(backend, lock_name):
    first = DistributedLock(lock_name, ttl=30, backend=backend)
    second = DistributedLock(lock_name, ttl=30, backend=backend)
    first.acquire()

    assert first.release() is True
    assert not first.held
    assert second.acquire(blocking=False)
    second.release()


@pytest.mark.parametrize("backend", ALL_BACKENDS, indirect=True)
def test_a_blocking_acquire_returns_once_the_holder_releases(backend, lock_name):
    first = DistributedLock(lock_name, ttl=30, backend=backend)
    second = DistributedLock(lock_name, ttl=30, backend=backend)
    first.acquire()
    releaser = threading.Timer(0.05, first.release)
    releaser.start()
    try:
        assert second.acquire(timeout=10)
    finally:
        releaser.join()
    assert not first.held
    second.release()


@pytest.mark.parametrize("backend", ALL_BACKENDS, indirect=True)
def test_renew_keeps_the_lock_held(backend, lock_name):
    lock = DistributedLock(lock_name, ttl=30, backend=backend)
    lock.acquire()

    assert lock.renew() is True
    assert lock.renew(ttl=60) is True
    assert not DistributedLock(lock_name, ttl=30, backend=backend).acquire(blocking=False)
    assert lock.release() is True


@pytest.mark.parametrize("backend", EXPIRING_BACKENDS, indirect=True)
def test_an_expired_lock_goes_to_the_next_holder_and_the_old_holder_cannot_renew(
    backend, lock_name
):
    old = DistributedLock(lock_name, ttl=0.05, backend=backend)
    new = DistributedLock(lock_name, ttl=30, backend=backend)
    old.acquire()

    assert new.acquire(timeout=10)  # succeeds once the old lock expired
    with pytest.raises(LockLost):
        old.renew()
    assert not old.held
    assert new.held
    assert new.renew() is True
    new.release()


@pytest.mark.parametrize("backend", EXPIRING_BACKENDS, indirect=True)
def test_the_old_holders_release_does_not_delete_the_new_holders_lock(backend, lock_name):
    old = DistributedLock(lock_name, ttl=0.05, backend=backend)
    new = DistributedLock(lock_name, ttl=30, backend=backend)
    old.acquire()
    assert new.acquire(timeout=10)

    assert old.release() is False
    assert not DistributedLock(lock_name, ttl=30, backend=backend).acquire(blocking=False)
    assert new.release() is True


def test_a_postgres_lock_is_lost_with_its_connection(postgres_locks, lock_name):
    lock = DistributedLock(lock_name, ttl=30, backend=postgres_locks)
    lock.acquire()
    key = advisory_key(lock_name) & 0xFFFF_FFFF_FFFF_FFFF
    with postgres_locks.connect() as admin:
        killed = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
            " AND classid::bigint = %s AND objid::bigint = %s",
            [key >> 32, key & 0xFFFF_FFFF],
        ).fetchall()
    assert killed == [(True,)]

    with pytest.raises(LockLost):
        lock.renew()
    other = DistributedLock(lock_name, ttl=30, backend=postgres_locks)
    assert other.acquire(timeout=10)
    other.release()


@pytest.mark.parametrize("backend", ALL_BACKENDS, indirect=True)
def test_fencing_tokens_increase_with_every_acquisition(backend, lock_name):
    tokens = []
    for _ in range(5):
        with DistributedLock(lock_name, ttl=30, backend=backend) as lock:
            tokens.append(lock.fencing_token)

    assert tokens == sorted(set(tokens))


def issued_tokens(backend, name: str) -> int:
    """How many fencing tokens the backend has issued (PostgreSQL: for every name)."""
    if isinstance(backend, RedisLocks):
        return int(backend.client.get(f"{backend.key(name)}:fence") or 0)
    if isinstance(backend, PostgresLocks):
        with backend.connect() as conn:
            row = conn.execute("SELECT last_value FROM ucloud_lock_fencing_token").fetchone()
        assert row is not None
        return int(row[0])
    return LOCAL_LOCKS.issued.get(name, 0)


@pytest.mark.parametrize("backend", ALL_BACKENDS, indirect=True)
def test_a_failed_attempt_consumes_no_fencing_token(backend, lock_name):
    with DistributedLock(lock_name, ttl=30, backend=backend):
        issued = issued_tokens(backend, lock_name)
        loser = DistributedLock(lock_name, ttl=30, backend=backend)
        assert not loser.acquire(blocking=False)
        assert issued_tokens(backend, lock_name) == issued


def fenced_write(name: str, token: int, *, fail: bool = False) -> None:
    """A guarded write: the fence check and the write commit (or roll back) together."""
    with transaction.atomic():
        check_fencing_token(name, token)
        if fail:
            raise ZeroDivisionError


def fence_of(name: str) -> int | None:
    return LockFence.objects.filter(name=name).values_list("fence", flat=True).first()


@pytest.mark.parametrize("backend", ALL_BACKENDS, indirect=True)
def test_a_writer_refuses_a_stale_fencing_token(backend, lock_name):
    with DistributedLock(lock_name, ttl=30, backend=backend) as old:
        old_token = old.fencing_token
    # The old holder pauses; meanwhile the next holder writes.
    with DistributedLock(lock_name, ttl=30, backend=backend) as new:
        new_token = new.fencing_token
        fenced_write(lock_name, new_token)
        # The holder may write more than once with its token.
        fenced_write(lock_name, new_token)
    with pytest.raises(StaleFencingToken) as refused:
        fenced_write(lock_name, old_token)
    assert (refused.value.name, refused.value.token) == (lock_name, old_token)
    assert fence_of(lock_name) == new_token


def test_a_fence_moves_only_when_the_guarded_write_commits(lock_name):
    fenced_write(lock_name, 5)
    with pytest.raises(ZeroDivisionError):
        fenced_write(lock_name, 7, fail=True)
    assert fence_of(lock_name) == 5
    fenced_write(lock_name, 6)  # 7 never wrote, so 6 is not stale
    assert fence_of(lock_name) == 6


def test_the_fence_check_belongs_inside_the_writers_transaction(transactional_db, lock_name):
    with pytest.raises(LockError, match="inside the transaction"):
        check_fencing_token(lock_name, 1)
    assert fence_of(lock_name) is None


@pytest.mark.parametrize("backend", ALL_BACKENDS, indirect=True)
def test_fencing_tokens_start_at_the_clock_so_a_lost_counter_never_goes_back(backend, lock_name):
    before = time.time_ns() // 1000
    with DistributedLock(lock_name, ttl=30, backend=backend) as first:
        first_token = first.fencing_token
        fenced_write(lock_name, first_token)
    # Redis lost its data, the process restarted, the lock database was
    # restored: the counter is gone, the writer's fence row is not.
    if isinstance(backend, RedisLocks):
        assert first_token >= before  # a counter of its own, new for this name
        backend.client.delete(f"{backend.key(lock_name)}:fence")
    elif isinstance(backend, PostgresLocks):
        with backend.connect() as conn:
            conn.execute("DROP SEQUENCE ucloud_lock_fencing_token")
        backend._schema_ready = False
    else:
        assert first_token >= before
        LOCAL_LOCKS.issued.pop(lock_name)
    with DistributedLock(lock_name, ttl=30, backend=backend) as second:
        assert second.fencing_token > first_token
        fenced_write(lock_name, second.fencing_token)


@pytest.mark.parametrize("backend", ALL_BACKENDS, indirect=True)
def test_the_with_statement_raises_lock_timeout_when_the_lock_stays_held(backend, lock_name):
    with DistributedLock(lock_name, ttl=30, backend=backend):
        waiting = DistributedLock(lock_name, ttl=30, timeout=0.05, backend=backend)
        with pytest.raises(LockTimeout, match=lock_name), waiting:
            pass  # pragma: no cover (never entered)
        assert not waiting.held


@pytest.mark.parametrize("backend", ALL_BACKENDS, indirect=True)
def test_the_with_statement_releases_the_lock_even_when_the_body_fails(backend, lock_name):
    lock = DistributedLock(lock_name, ttl=30, backend=backend)

    def fail_while_holding_it() -> None:
        with lock:
            assert lock.held
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        fail_while_holding_it()
    assert not lock.held
    assert DistributedLock(lock_name, ttl=30, backend=backend).acquire(blocking=False)


def test_misuse_of_a_lock_object_is_an_error(lock_name):
    lock = DistributedLock(lock_name, ttl=30, backend="local")
    with pytest.raises(LockError):
        lock.release()
    with pytest.raises(LockError):
        lock.renew()
    with pytest.raises(LockError):
        _ = lock.fencing_token
    with pytest.raises(ValueError, match="ttl"):
        DistributedLock(lock_name, ttl=0, backend="local")
    lock.acquire()
    with pytest.raises(LockError, match="already held"):
        lock.acquire()  # not reentrant
    lock.release()


def test_the_backend_follows_the_settings(redis_url):
    database_kind = "postgresql" if connections["default"].vendor == "postgresql" else "local"
    with override_settings(UCLOUD={"REDIS_URL": redis_url}):
        assert isinstance(get_backend(), RedisLocks)
    with override_settings(UCLOUD={"REDIS_URL": None}):
        assert get_backend().name == database_kind
    with override_settings(UCLOUD={"REDIS_URL": redis_url, "LOCK_BACKEND": "local"}):
        assert get_backend() is LOCAL_LOCKS
        assert DistributedLock("x", ttl=1).backend is LOCAL_LOCKS
    with override_settings(UCLOUD={"REDIS_URL": None}), pytest.raises(ImproperlyConfigured):
        get_backend("redis")
    with pytest.raises(ImproperlyConfigured, match="Unknown lock backend"):
        get_backend("zookeeper")


@pytest.mark.parametrize("backend", ALL_BACKENDS, indirect=True)
def test_run_exclusively_runs_the_job_on_exactly_one_of_concurrent_callers(backend, lock_name):
    callers = 5
    ran: list[int] = []
    others_done = threading.Event()

    @run_exclusively(lock_name, ttl=30, backend=backend)
    def job(caller: int) -> int:
        ran.append(caller)
        # Hold the lock until every other caller has tried (and skipped).
        others_done.wait(10)
        return caller

    results = []
    with ThreadPoolExecutor(callers) as pool:
        futures = [pool.submit(job, caller) for caller in range(callers)]
        try:
            for finished, future in enumerate(as_completed(futures, timeout=10), start=1):
                results.append(future.result())
                if finished == callers - 1:
                    others_done.set()
        finally:
            others_done.set()

    assert len(ran) == 1
    assert results.count(None) == callers - 1
    assert [result for result in results if result is not None] == ran
    # Released afterwards: the next run goes ahead.
    assert job(99) == 99


def test_run_exclusively_skips_with_a_debug_message_while_the_lock_is_held(lock_name, caplog):
    caplog.set_level(logging.DEBUG, logger="ucloud.locks")

    @run_exclusively(lock_name, ttl=30, backend="local")
    def prune() -> str:
        return "pruned"

    with DistributedLock(lock_name, ttl=30, backend="local"):
        assert prune() is None
    assert prune() == "pruned"
    assert [r.getMessage() for r in caplog.records] == [
        f"Skipped {prune.__qualname__}: lock {lock_name!r} is held elsewhere"
    ]


def _contend(backend, name, iterations, inside, most_inside, counter, tokens, failures) -> None:
    """One process's loop: take the lock, update the shared state non-atomically."""
    for _ in range(iterations):
        lock = DistributedLock(name, ttl=30, backend=backend)
        if not lock.acquire(timeout=20):
            with failures.get_lock():
                failures.value += 1
            continue
        try:
            with inside.get_lock():
                inside.value += 1
                most_inside.value = max(most_inside.value, inside.value)
            # A read-pause-write that loses updates unless the lock excludes.
            seen = counter.value
            time.sleep(0.0005)
            tokens[seen] = lock.fencing_token
            counter.value = seen + 1
            with inside.get_lock():
                inside.value -= 1
        finally:
            lock.release()


@pytest.mark.parametrize("backend", SHARED_BACKENDS, indirect=True)
def test_processes_contending_for_one_lock_never_overlap(backend, lock_name):
    processes, iterations = 4, 20
    context = multiprocessing.get_context("fork")
    inside = context.Value("i", 0)
    most_inside = context.Value("i", 0)
    failures = context.Value("i", 0)
    counter = context.RawValue("i", 0)  # deliberately unsynchronized
    tokens = context.RawArray("q", processes * iterations)
    args = (backend, lock_name, iterations, inside, most_inside, counter, tokens, failures)
    workers = [context.Process(target=_contend, args=args) for _ in range(processes)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)

    assert [worker.exitcode for worker in workers] == [0] * processes
    assert failures.value == 0
    assert most_inside.value == 1
    assert counter.value == processes * iterations
    # Each holder saw the previous holder's write and had a newer token.
    assert all(a < b for a, b in itertools.pairwise(tokens))


# --- process-local locks where more than one process runs ---------------------------


def local_locks(**more):
    return override_settings(UCLOUD={"REDIS_URL": None, "LOCK_BACKEND": "local"}, **more)


def test_local_locks_with_a_broker_fail_the_system_check(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    with local_locks(CELERY_BROKER_URL="redis://127.0.0.1:6379/0"):
        (error,) = check_lock_backend()
    assert error.id == "ucloud.E020"
    assert "Celery broker" in error.msg
    assert "REDIS_URL" in error.hint


def test_local_locks_with_several_web_workers_fail_the_system_check(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    with local_locks(CELERY_BROKER_URL=None):
        (error,) = check_lock_backend()
    assert "WEB_CONCURRENCY=4" in error.msg


def test_local_locks_in_one_process_or_shared_locks_pass_the_system_check(monkeypatch, redis_url):
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    with local_locks(CELERY_BROKER_URL=None):
        assert check_lock_backend() == []
    broker = {"CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"}
    with override_settings(UCLOUD={"REDIS_URL": redis_url}, **broker):
        assert check_lock_backend() == []
