"""Chaos: producers, consumers and Redis SIGKILLed at random moments, nothing
lost, nothing doubled, in every consumer group.

Two producer processes make 2,000 numbered events in small transactions
while two workers (two pool processes each: four consumers
per group) process them for two groups, ``probe`` and ``echo``. At random
moments a whole worker (main process, pool, beat) or one pool process alone
is SIGKILLed (six times in all), and once a producer, whose background
relay thread dies with it; a fresh producer makes the events it did not.
Every event the outbox holds (what committed) must have exactly one effect
per processor of each group.

The second proof SIGKILLs Redis itself (the broker and the streams, with
its append-only file fsynced on every write) at random moments of the same
kind of run, and starts it again after a random outage: producers' relays
and workers' consumers, sweeps and acknowledgements fail mid-way at
whatever they were doing, and must carry on once it is back.

The random seed is printed, and ``CHAOS_SEED`` replays a run.
"""

from __future__ import annotations

import os
import random
import time

import pytest

from tests.events.deployment import PROCESSORS, ProbeDeployment, Production
from ucloud.testing.private_redis import PrivateRedis
from ucloud.testing.workers import Worker

pytestmark = pytest.mark.e2e

KILLS = 6
PER_PRODUCER = 1000
TRANSACTIONS = 100  # ten events each
PAUSE_MS = 40  # production lasts several seconds: the kills land during it


REDIS_KILLS = 4


def _chance(capsys: pytest.CaptureFixture[str]) -> random.Random:
    seed = int(os.environ.get("CHAOS_SEED") or time.time_ns() % 1_000_000)
    with capsys.disabled():  # in the run's output even when the test passes
        print(f"\nchaos seed: {seed} (CHAOS_SEED={seed} replays the kill schedule)")
    return random.Random(seed)


def _workers_and_producers(deployment: ProbeDeployment) -> tuple[list[Worker], list[Production]]:
    """Two workers, then two producers of PER_PRODUCER numbered events each."""
    workers = [deployment.start_worker(), deployment.start_worker()]
    producers = [
        deployment.produce(count=PER_PRODUCER, start=start, transactions=TRANSACTIONS,
                           pause_ms=PAUSE_MS)
        for start in (0, PER_PRODUCER)
    ]  # fmt: skip
    return workers, producers


def _assert_each_committed_event_applied_once(
    deployment: ProbeDeployment, kills: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    expected = deployment.database.produced_numbers()
    deployment.wait_for_effects(len(expected))
    effects = deployment.database.effects()
    with capsys.disabled():
        print(
            f"chaos: {len(expected)} events committed, kills: {', '.join(kills)}; "
            + ", ".join(
                f"{name}: {len(effects[name])} effects, {len(set(effects[name]))} distinct"
                for name in PROCESSORS
            )
        )
    for name in PROCESSORS:
        assert effects[name] == expected, f"{name}: not each event exactly once"
    assert deployment.database.dead_letters() == []
    assert deployment.database.pending_outbox() == 0


def test_sigkills_at_random_moments_leave_every_event_applied_once_in_every_group(
    deployment: ProbeDeployment, broker: PrivateRedis, capsys: pytest.CaptureFixture[str]
):
    chance = _chance(capsys)
    workers, producers = _workers_and_producers(deployment)

    kills: list[str] = []
    producer_killed = False
    while len(kills) < KILLS or not producer_killed:
        time.sleep(chance.uniform(0.3, 1.2))
        if not producer_killed and len(kills) >= 2:
            producers.append(_kill_a_producer(deployment, producers[1]))
            producer_killed = True
            kills.append("producer")
        elif len(kills) % 2 == 0:
            victim = chance.randrange(len(workers))
            workers[victim].kill()
            workers[victim] = deployment.start_worker()
            kills.append("worker group")
        else:
            kills.append(_kill_a_pool_process(deployment, broker, workers, chance))

    for production in producers:
        if production.process.returncode is None:
            production.result()
    assert len(deployment.database.produced_numbers()) == 2 * PER_PRODUCER
    _assert_each_committed_event_applied_once(deployment, kills, capsys)


@pytest.mark.parametrize("broker", [{"appendonly": True}], indirect=True)
def test_redis_sigkilled_at_random_moments_leaves_every_event_applied_once_in_every_group(
    deployment: ProbeDeployment, broker: PrivateRedis, capsys: pytest.CaptureFixture[str]
):
    chance = _chance(capsys)
    workers, producers = _workers_and_producers(deployment)

    kills: list[str] = []
    for _ in range(REDIS_KILLS):
        time.sleep(chance.uniform(0.3, 1.2))
        broker.stop()  # SIGKILL: no shutdown, no final save
        outage = chance.uniform(0.0, 1.0)
        time.sleep(outage)
        broker.start()  # the same directory: the append-only file is replayed
        kills.append(f"redis ({outage:.1f} s down)")

    for production in producers:
        production.result()  # a producer's transactions commit whether Redis is up or not
    assert len(deployment.database.produced_numbers()) == 2 * PER_PRODUCER
    _assert_each_committed_event_applied_once(deployment, kills, capsys)
    assert all(worker.process.poll() is None for worker in workers), deployment.logs()


def _kill_a_producer(deployment: ProbeDeployment, victim: Production) -> Production:
    """SIGKILL a producer mid-production (its relay thread too); start one in
    its place on fresh numbers. What it committed and did not relay is left
    to the workers' sweep."""
    victim.process.kill()
    victim.process.wait()
    committed = sum(
        1 for n in deployment.database.produced_numbers() if PER_PRODUCER <= n < 2 * PER_PRODUCER
    )
    rest = PER_PRODUCER - committed
    return deployment.produce(
        count=rest, start=3 * PER_PRODUCER, transactions=max(1, rest // 10), pause_ms=PAUSE_MS
    )


def _kill_a_pool_process(
    deployment: ProbeDeployment, broker: PrivateRedis, workers: list[Worker], chance: random.Random
) -> str:
    """SIGKILL one consuming pool process alone; Celery replaces it."""
    consuming = deployment.consumer_pids(broker)
    candidates = [(w, pid) for w in workers for pid in w.pool_processes() if pid in consuming]
    if not candidates:  # every pool process is starting over: kill a group instead
        victim = chance.randrange(len(workers))
        workers[victim].kill()
        workers[victim] = deployment.start_worker()
        return "worker group"
    worker, pid = chance.choice(candidates)
    worker.kill_pool_process(pid)
    return "pool process"
