"""Nothing lost, nothing doubled: event delivery proved with real processes.

Producers (``manage.py probe_produce``), Celery workers with beat
(``manage.py ucloud_worker --beat``), a private ``redis-server`` and the
shared database (PostgreSQL when ``DATABASE_URL`` names one, else a SQLite
file). The probe's two processors (one event per transaction, and whole
batches) leave one ``Effect`` per event each, under a unique constraint, and
log every execution outside the transaction, so redeliveries are visible.

What each proof shows, and what it does not:

* a worker SIGKILLed (main process, pool and beat at once) in the middle of
  a batch: the unacknowledged message comes back after the visibility
  timeout, the event whose transaction died runs again, and the inboxes
  skip what had committed;
* Redis down while events are produced: the producing transactions commit,
  the relay failure is logged, the rows wait in the outbox and the beat
  sweep relays them once Redis is back. Redis is stopped between
  productions, with nothing queued, so that this proof is about the outbox;
* messages Redis had accepted when it crashed without persistence are gone,
  and the outbox already says "relayed", so no sweep sends them again: a
  real loss window of a broker without persistence (at-least-once holds
  only from the outbox to a broker that keeps what it accepted). The proof
  pins the window down and shows ``ucloud_replay`` recovers it, once;
* a poison event becomes a dead letter after ``STREAM_MAX_ATTEMPTS``;
  ``ucloud_deadletters --retry`` fails while it is still poison and applies
  it once after the fix;
* without a broker, the producer's own process applies every event once,
  after commit.
"""

from __future__ import annotations

import datetime
import re

import pytest

from tests.events.deployment import PROCESSORS, ProbeDeployment, effects_once, numbers
from tests.events.observations import execution_counts, executions
from tests.events.processes import PrivateRedis

pytestmark = pytest.mark.e2e

PROBE_QUEUE = "ucloud.probe"
# Celery's log line for a finished sweep ends with its result: rows relayed.
SWEEP_RESULT = re.compile(r"Task ucloud\.relay_sweep\[[^]]+\] succeeded in [0-9.e-]+s: (\d+)")


def consumers(deployment: ProbeDeployment) -> dict[str, int]:
    """Inbox entries per probe processor, keyed by processor name."""
    inbox = deployment.database.inbox()
    return {
        name: count
        for consumer, count in inbox.items()
        for name in PROCESSORS
        if consumer.startswith("probe:") and consumer.endswith(f"apply_{name}")
    }


def assert_each_event_applied_once(deployment: ProbeDeployment, expected: list[int]) -> None:
    database = deployment.database
    assert effects_once(database.effects(), expected), database.effects()
    assert consumers(deployment) == {name: len(expected) for name in PROCESSORS}
    assert database.pending_outbox() == 0
    assert database.outbox() == len(expected)


def test_a_worker_killed_mid_batch_leaves_every_effect_exactly_once(
    deployment: ProbeDeployment, broker: PrivateRedis
):
    count, held = 2000, 1150
    batch_start = held - held % 100  # 20 transactions: one message of 100 each
    deployment.hold()
    first = deployment.start_worker()
    production = deployment.produce(count=count, transactions=20, hold=[held])

    # "one" has committed #1100..#1149 of this message one by one, and now
    # waits inside #1150's transaction: the kill lands mid-batch.
    deployment.wait_for_execution("one", held)
    assert len(first.members()) >= 3  # main process, two pool processes, beat
    first.kill()
    assert first.members() == []
    before_kill = deployment.database.effects()
    committed_part = list(range(batch_start, held))
    assert set(committed_part) <= set(before_kill["one"])
    assert held not in before_kill["one"]

    deployment.release()
    deployment.start_worker()
    report = production.result()
    deployment.wait_for_effects(count)

    assert report["produced"] == count
    assert report["effects_before_commit"] == 0
    assert_each_event_applied_once(deployment, numbers(count))
    assert deployment.database.dead_letters() == []
    runs = execution_counts(deployment.directory)
    assert all(runs[(name, n)] >= 1 for name in PROCESSORS for n in range(count))
    # The broker gave the unacknowledged message to the new worker: the held
    # event ran again (its first run rolled back with the kill) ...
    assert runs[("one", held)] >= 2
    assert sum(runs.values()) > len(PROCESSORS) * count
    # ... while the inbox skipped what had committed before the kill.
    assert [runs[("one", n)] for n in committed_part] == [1] * len(committed_part)


def test_events_produced_while_redis_is_down_are_relayed_by_the_sweep_once_it_is_back(
    deployment: ProbeDeployment, broker: PrivateRedis
):
    deployment.start_worker()
    deployment.produce(count=300, transactions=3).result()
    deployment.wait_for_effects(300)

    broker.stop()
    during = deployment.produce(count=300, start=300, transactions=3)
    report = during.result()  # the producer's transactions commit regardless

    assert report["effects_before_commit"] == 0
    assert "Relay after commit failed; the sweep will retry" in during.errors()
    assert deployment.database.pending_outbox() == 300
    assert deployment.database.outbox() == 600

    broker.start()
    # Nothing else produces now: only the beat sweep can relay the 300 rows.
    deployment.wait_for_effects(600)
    deployment.wait_until(lambda: swept(deployment) >= 300, "sweeps to report 300 relayed events")
    deployment.produce(count=300, start=600, transactions=3).result()
    deployment.wait_for_effects(900)

    assert_each_event_applied_once(deployment, numbers(900))
    assert deployment.database.dead_letters() == []


def test_events_a_broker_crash_lost_stay_lost_until_replayed_then_apply_once(
    deployment: ProbeDeployment, broker: PrivateRedis
):
    since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)
    # No worker yet: the relay hands the events to Redis (one message per
    # relay pass) and marks the rows relayed; the messages wait in the queue.
    deployment.produce(count=200, transactions=2).result()
    assert deployment.database.pending_outbox() == 0
    assert broker.queue_length(PROBE_QUEUE) > 0

    broker.stop()  # a crash: this Redis keeps nothing on disk
    broker.start()
    assert broker.queue_length(PROBE_QUEUE) == 0

    worker = deployment.start_worker()
    # A sweep after the restart found nothing to relay: the outbox says
    # every row is on the broker, and the broker has none of them.
    deployment.wait_until(
        lambda: len(sweep_results(worker.logs())) > 0, "a relay sweep after the restart"
    )
    assert sweep_results(worker.logs())[0] == 0
    assert deployment.database.effect_count() == 0

    output = deployment.manage("ucloud_replay", "--since", since.isoformat())
    # (A sweep may relay some of them first: the replay marks, then relays.)
    assert "Marked 200 event(s) for replay" in output
    deployment.wait_for_effects(200)

    assert_each_event_applied_once(deployment, numbers(200))
    assert deployment.database.dead_letters() == []


def sweep_results(log: str) -> list[int]:
    """How many rows each finished relay sweep relayed, from a worker's log."""
    return [int(found) for found in SWEEP_RESULT.findall(log)]


def swept(deployment: ProbeDeployment) -> int:
    return sum(sum(sweep_results(worker.logs())) for worker in deployment.workers)


def test_a_poison_event_is_dead_lettered_and_applied_once_by_a_retry_after_the_fix(
    deployment: ProbeDeployment, broker: PrivateRedis
):
    attempts, poison = 3, 7
    # No kill in this proof: a long visibility timeout keeps redeliveries
    # out, so that every execution below is an attempt of the kit's own.
    deployment.use_broker(broker, visibility_timeout=300)
    deployment.configure(
        UCLOUD_STREAM_MAX_ATTEMPTS=str(attempts), UCLOUD_STREAM_RETRY_BACKOFF="0.1"
    )
    deployment.start_worker()
    deployment.produce(count=50, poison=[poison]).result()

    deployment.wait_until(
        lambda: len(deployment.database.dead_letters()) == len(PROCESSORS),
        "a dead letter per processor",
    )
    deployment.wait_for_effects(49)
    letters = deployment.database.dead_letters()
    assert {(d.number, d.attempts, d.resolved) for d in letters} == {(poison, attempts, False)}
    assert all(poison not in found for found in deployment.database.effects().values())
    assert execution_counts(deployment.directory)[("one", poison)] == attempts
    listed = deployment.manage("ucloud_deadletters")
    assert "2 unresolved dead letter(s)." in listed
    assert "Poisoned: event #7 is poison" in listed

    # Retrying before the fix changes nothing but the attempt count.
    assert "Retried 2: 0 handled, 2 still failing." in retry_dead_letters(deployment)
    deployment.cure()
    assert "Retried 2: 2 handled, 0 still failing." in retry_dead_letters(deployment)
    assert "Retried 0: 0 handled, 0 still failing." in retry_dead_letters(deployment)

    assert_each_event_applied_once(deployment, numbers(50))
    letters = deployment.database.dead_letters()
    assert {(d.number, d.attempts, d.resolved) for d in letters} == {(poison, attempts + 1, True)}
    # attempts by the worker, one failed retry, one retry that applied it
    assert execution_counts(deployment.directory)[("one", poison)] == attempts + 2


def retry_dead_letters(deployment: ProbeDeployment) -> str:
    return deployment.manage("ucloud_deadletters", "--retry")


def test_without_a_broker_the_producer_applies_each_event_once_after_commit(
    deployment: ProbeDeployment,
):
    count = 500
    report = deployment.produce(count=count, transactions=5).result()

    assert report["effects_before_commit"] == 0
    assert_each_event_applied_once(deployment, numbers(count))
    runs = executions(deployment.directory)
    assert len(runs) == len(PROCESSORS) * count
    assert {run.pid for run in runs} == {report["pid"]}
    assert deployment.database.effect_pids() == {report["pid"]}
