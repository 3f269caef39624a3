"""``/metrics`` after the scenario, read with Prometheus' own text parser:
the counts are the calls made (each request served over HTTP, each call
files made to accounts in process), events produced are events processed,
and lock acquisitions, waits and losses are counted."""

from __future__ import annotations

from collections import Counter

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from tests.scenario.conftest import create_admin
from tests.scenario.scenario import USER_LOOKUPS_BY_FILES, Credentials, run_scenario
from ucloud.lockfile.describe import service_calls
from ucloud.locks import DistributedLock
from ucloud.models import OutboxEvent
from ucloud.testing import InProcessApi, served_requests

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape() -> Samples:
    response = Client().get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    found: Samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def total(samples: Samples, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(value for (found, got), value in samples.items() if found == name and wanted <= got)


def delta(after: Samples, before: Samples, name: str, **labels: str) -> float:
    return total(after, name, **labels) - total(before, name, **labels)


@pytest.mark.django_db(transaction=True)
def test_after_the_scenario_the_counts_are_the_calls_made():
    admin = Credentials("admin", "admin-password-1")
    create_admin(admin)
    bindings = {(call.http.method, "/" + call.path): call.full_name for call in service_calls()}
    before = scrape()
    with served_requests() as seen:
        run_scenario(InProcessApi(), admin=admin)
    after = scrape()

    served = Counter(bindings[(r.method, r.path)] for r in seen if (r.method, r.path) in bindings)
    assert served["files.share"] > 0
    for call, count in served.items():
        assert delta(after, before, "ucloud_rpc_server_requests_total", call=call,
                     transport="remote") == count, call  # fmt: skip
        histogram = delta(after, before, "ucloud_rpc_server_request_seconds_count", call=call)
        assert histogram == count, call
    lookups = {"call": "accounts.retrieve_user", "transport": "local"}
    assert delta(after, before, "ucloud_rpc_client_requests_total", caller="files",
                 **lookups) == USER_LOOKUPS_BY_FILES  # fmt: skip
    assert delta(after, before, "ucloud_rpc_server_requests_total", **lookups) == (
        USER_LOOKUPS_BY_FILES
    )
    assert delta(after, before, "ucloud_rpc_client_requests_total", transport="remote") == 0
    produced = delta(after, before, "ucloud_events_produced_total", stream="files.events")
    processed = delta(
        after, before, "ucloud_events_processed_total", stream="files.events", group="notifications"
    )
    assert produced == processed > 0


@pytest.mark.django_db
def test_error_statuses_are_labelled(alice):
    before = scrape()
    assert alice.post("/api/files/share", {"id": 999, "username": "bob"}).status_code == 404
    after = scrape()

    assert delta(after, before, "ucloud_rpc_server_requests_total", call="files.share",
                 status="404") == 1  # fmt: skip


def test_lock_acquisitions_waits_and_losses_are_counted(settings):
    settings.UCLOUD = {**settings.UCLOUD, "LOCK_BACKEND": "local"}
    before = scrape()
    holder = DistributedLock("observe.test", ttl=30)
    assert holder.acquire()
    assert not DistributedLock("observe.test", ttl=30).acquire(blocking=False)
    assert not DistributedLock("observe.test", ttl=30).acquire(timeout=0.01)
    holder.release()
    lost = DistributedLock("observe.test", ttl=0.001)
    assert lost.acquire()
    while lost.backend.holder("observe.test").try_acquire(30) is None:
        pass  # expired: another holder takes it
    assert not lost.release()
    after = scrape()

    acquisitions = "ucloud_lock_acquisitions_total"
    for outcome, count in (("acquired", 2), ("busy", 1), ("timeout", 1)):
        assert delta(after, before, acquisitions, lock="observe.test", outcome=outcome) == count
    assert delta(after, before, "ucloud_lock_wait_seconds_count", lock="observe.test") == 4
    assert delta(after, before, "ucloud_lock_losses_total", lock="observe.test") == 1


@pytest.mark.django_db
def test_the_outbox_backlog_is_a_gauge_per_database_and_stream(alice):
    OutboxEvent.objects.create(stream="files.events", key="1", payload={})

    samples = scrape()

    assert total(samples, "ucloud_outbox_backlog", database="default", stream="files.events") >= 1


def test_a_call_series_counts_and_observes_as_prometheus_client_does():
    from prometheus_client import CollectorRegistry
    from prometheus_client import Counter as PromCounter
    from prometheus_client import Histogram as PromHistogram

    from ucloud.observe.metrics import LATENCY_BUCKETS, CallSeries

    def pair(prefix: str) -> tuple[PromCounter, PromHistogram, CollectorRegistry]:
        registry = CollectorRegistry()
        counter = PromCounter(f"{prefix}_calls", "calls", ["call"], registry=registry)
        histogram = PromHistogram(
            f"{prefix}_seconds", "time", ["call"], buckets=LATENCY_BUCKETS, registry=registry
        )
        return counter, histogram, registry

    # Bounds themselves, between them, below the first and past the last.
    times = [*LATENCY_BUCKETS, 0.0, 0.00005, 0.0003, 0.0042, 0.7, 11.0, 1e-9]
    counter, histogram, public = pair("x")
    for seconds in times:
        counter.labels("files.share").inc()
        histogram.labels("files.share").observe(seconds)
    counter, histogram, direct = pair("x")
    series = CallSeries(counter.labels("files.share"), histogram.labels("files.share"))
    assert series.count is not None, "prometheus-client's fields moved: the fast path is off"
    for seconds in times:
        series.add(seconds)

    def samples(registry: CollectorRegistry) -> list[tuple[str, dict[str, str], float]]:
        return [
            (sample.name, sample.labels, sample.value)
            for family in registry.collect()
            for sample in family.samples
            if not sample.name.endswith("_created")
        ]

    assert samples(direct) == samples(public)
    assert ("x_calls_total", {"call": "files.share"}, float(len(times))) in samples(direct)
