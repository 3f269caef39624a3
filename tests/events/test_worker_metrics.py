"""A worker in a container of its own serves its processes' metrics.

Under compose and Kubernetes a worker's ``/tmp`` (its multiprocess metrics
folder) is not its unit's web pods', so ``ucloud_worker`` answers scrapes
itself on ``UCLOUD_WORKER_METRICS_PORT``. A real worker (main process and
two pool processes) processes events produced by another process; the
scrape, parsed with Prometheus' own text parser, counts them.
"""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.events.deployment import ProbeDeployment
from ucloud.testing.ports import free_port
from ucloud.testing.private_redis import PrivateRedis

pytestmark = pytest.mark.e2e


def _samples(text: str, name: str) -> dict[tuple[str, str], float]:
    found: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                key = (sample.labels["stream"], sample.labels["group"])
                found[key] = found.get(key, 0.0) + sample.value
    return found


def test_a_worker_serves_the_counts_of_its_pool_processes(
    deployment: ProbeDeployment, broker: PrivateRedis, tmp_path
):
    count = 40
    port = free_port()
    metrics_dir = tmp_path / "worker-metrics"
    metrics_dir.mkdir()
    deployment.start_worker(
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), UCLOUD_WORKER_METRICS_PORT=str(port)
    )
    deployment.produce(count=count).result()
    deployment.wait_for_effects(count)

    def scraped() -> dict[tuple[str, str], float]:
        response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert response.status_code == 200
        return _samples(response.text, "ucloud_events_processed_total")

    # The processor runs count once its transaction committed, a moment
    # after the effect is visible.
    deployment.wait_until(
        lambda: scraped().get(("probe.events", "echo"), 0) >= count, "the echo count"
    )
    processed = scraped()
    # The probe group has two processors (one event at a time, and batches);
    # echo has one: each counts every event once.
    assert processed[("probe.events", "probe")] == 2 * count
    assert processed[("probe.events", "echo")] == count
