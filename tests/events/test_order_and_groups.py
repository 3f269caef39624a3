"""Order per key with several consumers, failures and delays; consumer groups
that behave like groups (a new one reads what was produced before it).

* 2 workers (4 consumers), 50 keys x 40 events, each event sleeping up to
  20 ms, one in twenty failing once: every key's events are applied in the
  order they were produced, each once;
* a group whose service starts after 1,000 events were produced, reading
  from the beginning of the streams, gets all 1,000 (and the group that
  was there keeps its own position).
"""

from __future__ import annotations

import json

import pytest

from tests.events.deployment import ProbeDeployment
from tests.events.observations import execution_counts
from tests.events.probe.switches import sequence_number
from ucloud.testing.private_redis import PrivateRedis

pytestmark = pytest.mark.e2e

KEYS, PER_KEY = 50, 40


def test_events_of_each_key_are_applied_in_produced_order_across_failures(
    deployment: ProbeDeployment, broker: PrivateRedis
):
    deployment.configure(UCLOUD_STREAM_RETRY_BACKOFF="0.1")
    deployment.start_worker()
    deployment.start_worker()
    production = deployment.run_in_background(
        "probe_sequence", f"--keys={KEYS}", f"--per-key={PER_KEY}",
        "--max-delay-ms=20", "--fail-share=0.05",
    )  # fmt: skip
    report = json.loads(production.stdout.read_text() if production.process.wait(60) == 0 else "")
    assert report["produced"] == KEYS * PER_KEY
    assert report["failing"] > 0

    database = deployment.database
    deployment.wait_until(
        lambda: sum(len(seqs) for seqs in database.applied_sequences().values()) >= KEYS * PER_KEY,
        "every sequenced event applied",
    )
    applied = database.applied_sequences()
    assert sorted(applied) == list(range(KEYS))
    assert all(seqs == list(range(PER_KEY)) for seqs in applied.values()), applied
    runs = execution_counts(deployment.directory)
    retried = [n for (name, n), count in runs.items() if name == "sequence" and count > 1]
    assert len(retried) >= report["failing"]  # the injected failures did happen
    assert all(runs[("sequence", sequence_number(k, s))] >= 1 for k in applied for s in range(3))
    assert database.dead_letters() == []


def test_a_group_added_later_reads_the_stream_from_its_beginning(
    deployment: ProbeDeployment, broker: PrivateRedis
):
    deployment.start_worker(UCLOUD_SERVICES="probe")
    deployment.produce(count=1000, transactions=10).result()
    database = deployment.database

    def counts() -> dict[str, int]:
        return {name: len(found) for name, found in database.effects().items()}

    deployment.wait_until(
        lambda: counts().get("one") == counts().get("batch") == 1000, "the probe group"
    )
    assert "echo" not in counts()  # no echo consumer has ever run

    deployment.start_worker(UCLOUD_SERVICES="echo")
    deployment.wait_until(lambda: counts().get("echo") == 1000, "the new echo group")
    effects = database.effects()
    assert effects["echo"] == list(range(1000))
    assert effects["one"] == effects["batch"] == list(range(1000))  # nothing twice
