"""Chaos: producers and consumers SIGKILLed at random moments, nothing lost,
nothing doubled, in every consumer group.

Two producer processes make 2,000 numbered events in small transactions
while two workers (two pool processes each: four consumers
per group) process them for two groups, ``probe`` and ``echo``. At random
moments a whole worker (main process, pool, beat) or one pool process alone
is SIGKILLed (six times in all), and once a producer, whose background
relay thread dies with it; a fresh producer makes the events it did not.
Every event the outbox holds (what committed) must have exactly one effect
per processor of each group. The random seed is printed, and
``CHAOS_SEED`` replays a run.
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


def test_sigkills_at_random_moments_leave_every_event_applied_once_in_every_group(
    deployment: ProbeDeployment, broker: PrivateRedis, capsys: pytest.CaptureFixture[str]
):
    seed = int(os.environ.get("CHAOS_SEED") or time.time_ns() % 1_000_000)
    chance = random.Random(seed)
    with capsys.disabled():  # in the run's output even when the test passes
        print(f"\nchaos seed: {seed} (CHAOS_SEED={seed} replays the kill schedule)")
    workers = [deployment.start_worker(), deployment.start_worker()]
    producers = [
        deployment.produce(count=PER_PRODUCER, start=start, transactions=TRANSACTIONS,
                           pause_ms=PAUSE_MS)
        for start in (0, PER_PRODUCER)
    ]  # fmt: skip

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
    expected = deployment.database.produced_numbers()
    assert len(expected) == 2 * PER_PRODUCER
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
