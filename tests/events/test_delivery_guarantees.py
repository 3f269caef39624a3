"""Nothing lost, nothing doubled: event delivery proved with real processes.

Producers (``manage.py probe_produce``), Celery workers with beat
(``manage.py ucloud_worker --beat``) whose pool processes consume the Redis
streams, a private ``redis-server`` and the shared database (PostgreSQL when
``DATABASE_URL`` names one, else a SQLite file). Two consumer groups read
the probe's stream: ``probe`` (one processor per event transaction, one per
batch) and ``echo`` (batches). Each leaves one row per event under a unique
constraint, and the probe logs every execution outside its transaction, so
redeliveries are visible.

What each proof shows, and what it does not:

* a worker SIGKILLed (main process, pool and beat at once) in the middle of
  a delivery: the entries stay pending in the group; once the dead
  consumer's leases expire another consumer takes them over, the event
  whose transaction died runs again, and the inbox skips what had committed;
* Redis down while events are produced: the producing transactions commit,
  the relay failure is logged, the rows wait in the outbox and the beat
  sweep relays them once Redis is back;
* a worker running a task when Redis restarts reconnects: the task ends,
  new tasks run and events flow again;
* Redis without persistence that crashes loses what it had accepted, and
  the outbox already says "relayed": ``ucloud_replay`` recovers it, once.
  With ``appendfsync always`` a restart in the middle of production loses
  nothing;
* a processor that keeps raising leaves its event pending (not dead) while
  attempts remain, and it is applied once after the fix; one that always
  fails becomes a dead letter after ``STREAM_MAX_ATTEMPTS``, and
  ``ucloud_deadletters --retry`` applies it once after the fix;
* the database of the consumer down: entries stay pending, no attempt is
  counted, everything is applied once after it is back (PostgreSQL only);
* without a broker, the producer's own process applies every event once,
  after commit.
"""

from __future__ import annotations

import datetime
import re

import pytest
from celery import Celery

from tests.conftest import require
from tests.events.deployment import (
    PARTITIONS,
    PROCESSORS,
    ProbeDeployment,
    effects_once,
    numbers,
)
from tests.events.observations import execution_counts, executions
from ucloud.events.streams import partition_of
from ucloud.events.tasks import RELAY_QUEUE
from ucloud.testing.private_redis import PrivateRedis

pytestmark = pytest.mark.e2e

# Celery's log line for a finished sweep ends with its result: rows relayed.
SWEEP_RESULT = re.compile(r"Task ucloud\.relay_sweep\[[^]]+\] succeeded in [0-9.e-]+s: (\d+)")
PROBE_PROCESSORS = ("one", "batch")


def consumers(deployment: ProbeDeployment) -> dict[str, int]:
    """Inbox entries per processor name ("one", "batch", "echo")."""
    found = {}
    for consumer, count in deployment.database.inbox().items():
        function = consumer.rsplit(".", 1)[-1]
        found[function.removeprefix("apply_")] = count
    return found


def assert_each_event_applied_once(deployment: ProbeDeployment, expected: list[int]) -> None:
    database = deployment.database
    assert effects_once(database.effects(), expected), database.effects()
    assert consumers(deployment) == {name: len(expected) for name in PROCESSORS}
    assert database.pending_outbox() == 0
    assert database.outbox() == len(expected)


def group_pending(broker: PrivateRedis, group: str) -> int:
    """Entries delivered to ``group`` and not acknowledged, over all partitions."""
    client = broker.client()
    total = 0
    for key in client.scan_iter(match="ucloud:events:probe.events:*"):
        for info in client.xinfo_groups(key):
            if info["name"].decode() == group:
                total += int(info["pending"])
    return total


def test_a_worker_killed_mid_delivery_leaves_every_effect_exactly_once(
    deployment: ProbeDeployment, broker: PrivateRedis
):
    count, held = 2000, 1150
    deployment.hold()
    first = deployment.start_worker()
    production = deployment.produce(count=count, transactions=20, hold=[held])

    # "one" has committed the earlier events of #1150's partition, in order,
    # and now waits inside #1150's transaction: the kill lands mid-delivery.
    deployment.wait_for_execution("one", held)
    assert len(first.members()) >= 3  # main process, two pool processes, beat
    first.kill()
    assert first.members() == []
    before_kill = deployment.database.effects()
    lane = partition_of(str(held), PARTITIONS)
    earlier_in_lane = [n for n in range(held) if partition_of(str(n), PARTITIONS) == lane]
    assert set(earlier_in_lane) <= set(before_kill["one"])
    assert held not in before_kill["one"]
    assert group_pending(broker, "probe") > 0

    deployment.release()
    deployment.start_worker()
    report = production.result()
    deployment.wait_for_effects(count)

    assert report["produced"] == count
    assert report["effects_before_commit"] == 0
    assert_each_event_applied_once(deployment, numbers(count))
    assert deployment.database.dead_letters() == []
    runs = execution_counts(deployment.directory)
    assert all(runs[(name, n)] >= 1 for name in PROBE_PROCESSORS for n in range(count))
    # The held event's entry stayed pending; the consumer that took the
    # partition over ran it again (its first run rolled back with the kill) ...
    assert runs[("one", held)] >= 2
    # ... while the inbox skipped what had committed before the kill.
    assert [runs[("one", n)] for n in sorted(before_kill["one"])] == [1] * len(before_kill["one"])
    deployment.wait_until(lambda: group_pending(broker, "probe") == 0, "every entry acked")


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

    broker.start()  # empty: it kept nothing; consumers make their groups again
    # Celery's main process can exit on the lost connection when a periodic
    # task was in flight (kombu's restore of unacked messages fails), before
    # or after Redis is back; a supervisor starts it again, as the wait does
    # here. Nothing it held is lost.
    # Nothing else produces now: only the beat sweep can relay the 300 rows.
    deployment.wait_for_effects(600, supervised=True)
    deployment.wait_until(lambda: swept(deployment) >= 300, "sweeps to report 300 relayed events")
    deployment.produce(count=300, start=600, transactions=3).result()
    deployment.wait_for_effects(900)

    assert_each_event_applied_once(deployment, numbers(900))
    assert deployment.database.dead_letters() == []


def test_events_a_redis_crash_lost_stay_lost_until_replayed_then_apply_once(
    deployment: ProbeDeployment, broker: PrivateRedis
):
    since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)
    # No worker yet: the relay appends the events to the streams and marks
    # the rows relayed; they wait there for the groups.
    deployment.produce(count=200, transactions=2).result()
    assert deployment.database.pending_outbox() == 0
    assert broker.stream_length("probe.events") == 200

    broker.stop()  # a crash: this Redis keeps nothing on disk
    broker.start()
    assert broker.stream_length("probe.events") == 0

    worker = deployment.start_worker()
    # A sweep after the restart found nothing to relay: the outbox says
    # every row is on its stream, and the streams have none of them.
    deployment.wait_until(
        lambda: len(sweep_results(worker.logs())) > 0, "a relay sweep after the restart"
    )
    assert sweep_results(worker.logs())[0] == 0
    assert deployment.database.effect_count() == 0

    output = deployment.manage("ucloud_replay", "--since", since.isoformat())
    assert "Marked 200 event(s) for replay" in output
    deployment.wait_for_effects(200)

    assert_each_event_applied_once(deployment, numbers(200))
    assert deployment.database.dead_letters() == []


@pytest.mark.parametrize("broker", [{"appendonly": True}], indirect=True)
def test_redis_restarted_with_its_append_only_file_during_production_loses_nothing(
    deployment: ProbeDeployment, broker: PrivateRedis
):
    deployment.start_worker()
    production = deployment.produce(count=1000, transactions=100, pause_ms=20)
    deployment.wait_until(lambda: deployment.database.effect_count() > 200, "some effects")
    broker.stop()  # SIGKILL: no shutdown, no final save
    broker.start()  # the same directory: the AOF is replayed
    production.result()
    deployment.wait_for_effects(1000)

    assert_each_event_applied_once(deployment, numbers(1000))
    assert deployment.database.dead_letters() == []
    deployment.wait_until(lambda: group_pending(broker, "probe") == 0, "every entry acked")


def test_a_worker_running_a_task_when_redis_restarts_reconnects_and_goes_on(
    deployment: ProbeDeployment, broker: PrivateRedis
):
    # Celery 5.7's own consumer stopped the worker here ("Unrecoverable
    # error"): the kit's settings give it ucloud.events.celery_consumer's.
    worker = deployment.start_worker()
    client = Celery("probe-client", broker=broker.url, set_as_current=False)
    client.send_task("probe.nap", args=[3.0, "first"], queue=RELAY_QUEUE)
    deployment.wait_until(lambda: (deployment.directory / "first.started").exists(), "the nap")
    broker.stop()
    broker.start()

    deployment.wait_until(lambda: (deployment.directory / "first.done").exists(), "its end")
    client.send_task("probe.nap", args=[0.0, "second"], queue=RELAY_QUEUE)
    deployment.wait_until(lambda: (deployment.directory / "second.done").exists(), "a new task")
    deployment.produce(count=50).result()
    deployment.wait_for_effects(50)
    assert_each_event_applied_once(deployment, numbers(50))
    assert worker.process.poll() is None
    assert "Unrecoverable error" not in worker.logs()


def sweep_results(log: str) -> list[int]:
    """How many rows each finished relay sweep relayed, from a worker's log."""
    return [int(found) for found in SWEEP_RESULT.findall(log)]


def swept(deployment: ProbeDeployment) -> int:
    return sum(sum(sweep_results(worker.logs())) for worker in deployment.workers)


def test_a_processor_that_keeps_raising_leaves_its_event_pending_until_it_is_fixed(
    deployment: ProbeDeployment, broker: PrivateRedis
):
    poison = 7
    deployment.configure(UCLOUD_STREAM_MAX_ATTEMPTS="50", UCLOUD_STREAM_RETRY_BACKOFF="0.1")
    deployment.start_worker()
    deployment.produce(count=50, poison=[poison]).result()

    deployment.wait_until(
        lambda: execution_counts(deployment.directory)[("one", poison)] >= 3, "three attempts"
    )
    assert group_pending(broker, "probe") >= 1
    assert deployment.database.dead_letters() == []
    assert all(poison not in deployment.database.effects().get(p, []) for p in PROBE_PROCESSORS)

    deployment.cure()
    deployment.wait_for_effects(50)
    assert_each_event_applied_once(deployment, numbers(50))
    assert deployment.database.dead_letters() == []
    deployment.wait_until(lambda: group_pending(broker, "probe") == 0, "every entry acked")


def test_a_poison_event_is_dead_lettered_and_applied_once_by_a_retry_after_the_fix(
    deployment: ProbeDeployment, broker: PrivateRedis
):
    attempts, poison = 3, 7
    deployment.configure(
        UCLOUD_STREAM_MAX_ATTEMPTS=str(attempts), UCLOUD_STREAM_RETRY_BACKOFF="0.1"
    )
    deployment.start_worker()
    deployment.produce(count=50, poison=[poison]).result()

    deployment.wait_until(
        lambda: len(deployment.database.dead_letters()) == len(PROBE_PROCESSORS),
        "a dead letter per probe processor",
    )
    deployment.wait_for_effects(49)
    letters = deployment.database.dead_letters()
    assert {(d.number, d.attempts, d.resolved) for d in letters} == {(poison, attempts, False)}
    assert all(poison not in deployment.database.effects()[p] for p in PROBE_PROCESSORS)
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
    deployment.wait_until(lambda: group_pending(broker, "probe") == 0, "every entry acked")


def retry_dead_letters(deployment: ProbeDeployment) -> str:
    return deployment.manage("ucloud_deadletters", "--retry")


def test_with_the_consumers_database_down_entries_wait_and_apply_once_when_it_is_back(
    deployment: ProbeDeployment, broker: PrivateRedis
):
    database = deployment.database
    require(database.is_postgres, "PostgreSQL as DATABASE_URL (to take a database down)")
    # Produced while no worker runs: the events wait on their streams.
    deployment.produce(count=200, transactions=4).result()
    database.refuse_connections()
    try:
        worker = deployment.start_worker()
        deployment.wait_until(
            lambda: "OperationalError" in worker.logs() or group_pending(broker, "probe") > 0,
            "consumers meeting the database outage",
        )
        deployment.wait_until(lambda: group_pending(broker, "probe") > 0, "pending entries")
    finally:
        database.accept_connections()
    deployment.wait_for_effects(200)
    assert_each_event_applied_once(deployment, numbers(200))
    assert database.dead_letters() == []
    deployment.wait_until(lambda: group_pending(broker, "probe") == 0, "every entry acked")


def test_without_a_broker_the_producer_applies_each_event_once_after_commit(
    deployment: ProbeDeployment,
):
    count = 500
    report = deployment.produce(count=count, transactions=5).result()

    assert report["effects_before_commit"] == 0
    assert_each_event_applied_once(deployment, numbers(count))
    runs = executions(deployment.directory)
    assert len(runs) == len(PROBE_PROCESSORS) * count
    assert {run.pid for run in runs} == {report["pid"]}
    assert deployment.database.effect_pids() == {report["pid"]}
