"""Proof: the inspection pages with the three units apart behind nginx.

The admin unit (accounts) holds only its own database; through the kit's
own calls it shows every unit's catalog entry, the picture, each unit's
calls (files' call to accounts over HTTP: ``transport="remote"``), one
share's trace across three units and a worker, the live state, and a dead
letter of notifications, retried in the notifications unit. ``/metrics`` of
each unit, read with Prometheus' parser, counts the calls made; the spans
of one share, collected from every process, are one trace.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.browser import inspection
from tests.browser.conftest import browser  # noqa: F401  (the Chromium fixture)
from tests.scenario.scenario import (
    USER_LOOKUPS_BY_FILES,
    Credentials,
    browse_notifications,
    login,
    run_scenario,
)
from ucloud.deploy.topology import database_url
from ucloud.observe.spanstore import RedisStore
from ucloud.testing import HttpApi
from ucloud.testing.apart import ApartDeployment
from ucloud.testing.private_redis import PrivateRedis

pytestmark = pytest.mark.e2e

WAIT = 30.0
UNITS = ["accounts (this process)", "files", "notifications"]
NOTIFY = "notifications:apps.notifications.processors.notify_of_file_event"


def wait_until(condition: Callable[[], object], what: str) -> object:
    give_up = time.monotonic() + WAIT
    while not (found := condition()):
        if time.monotonic() > give_up:
            raise AssertionError(f"not within {WAIT:.0f} s: {what}")
        time.sleep(0.2)
    return found


def scrape(apart: ApartDeployment, unit: str) -> dict[tuple[str, frozenset], float]:
    text = httpx.get(f"{apart.unit_url(unit)}/metrics", timeout=10).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(samples: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(value for (found, got), value in samples.items() if found == name and wanted <= got)


def users(api: HttpApi, apart: ApartDeployment, *names: str) -> dict[str, str]:
    """New USERs (through the gateway); their access tokens."""
    admin = login(api, apart.admin)["access_token"]
    tokens = {}
    for name in names:
        credentials = Credentials(name, f"{name}-password-1")
        body = {"username": name, "password": credentials.password, "role": "USER"}
        assert api.request("POST", "/api/accounts/users", json=body, token=admin)[0] == 200
        tokens[name] = login(api, credentials)["access_token"]
    return tokens


def share(apart: ApartDeployment, token: str, path: str, target: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=apart.gateway_url, headers=headers, timeout=30) as api:
        created = api.post("/api/files", json={"path": path, "size": 1})
        assert created.status_code == 200, created.text
        return api.post("/api/files/share", json={"id": created.json()["id"], "username": target})


def bury(apart: ApartDeployment, owner: str, target: str) -> int:
    """A dead letter in notifications' own database; its id."""
    url = database_url(apart.server_url, apart.topology.unit("notifications").database)
    payload = {"type": "file_shared", "file_id": 99, "owner": owner, "path": "/buried.txt",
               "old_path": None, "shared_with": target}  # fmt: skip
    with psycopg.connect(url, connect_timeout=5) as conn:
        row = conn.execute(
            "INSERT INTO ucloud_deadletter (consumer, event_id, stream, key, payload, error,"
            " attempts, failed_at) VALUES (%s, %s, 'files.events', '99', %s, %s, 5, now())"
            " RETURNING id",
            [NOTIFY, uuid.uuid4(), json.dumps(payload), "OperationalError: the database was down"],
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_metrics_of_every_unit_count_the_calls_made_over_http(apart: ApartDeployment) -> None:
    before = {unit: scrape(apart, unit) for unit in ("accounts", "files", "notifications")}
    with HttpApi(apart.gateway_url) as api:
        run_scenario(api, admin=apart.admin, notification_wait=WAIT)
    after = {unit: scrape(apart, unit) for unit in ("accounts", "files", "notifications")}

    def delta(unit: str, name: str, **labels: str) -> float:
        return total(after[unit], name, **labels) - total(before[unit], name, **labels)

    lookups = {"call": "accounts.retrieve_user", "transport": "remote"}
    assert delta("files", "ucloud_rpc_client_requests_total", caller="files", **lookups) == (
        USER_LOOKUPS_BY_FILES
    )
    assert delta("accounts", "ucloud_rpc_server_requests_total", **lookups) == (
        USER_LOOKUPS_BY_FILES
    )
    assert delta("files", "ucloud_rpc_client_requests_total", transport="local") == 0
    # Events: produced by files' web processes, processed by notifications' worker.
    produced = delta("files", "ucloud_events_produced_total", stream="files.events")
    assert produced > 0
    processed = "ucloud_events_processed_total"
    wait_until(
        lambda: (
            total(scrape(apart, "notifications"), processed, group="notifications")
            - total(before["notifications"], processed, group="notifications")
            == produced
        ),
        "every event produced processed by the notifications worker",
    )


def test_one_share_is_one_trace_across_the_units(
    apart: ApartDeployment, broker: PrivateRedis
) -> None:
    with HttpApi(apart.gateway_url) as api:
        tokens = users(api, apart, "tracy", "tess")
    response = share(apart, tokens["tracy"], "/traced.txt", "tess")
    assert response.status_code == 200
    trace_id = response.headers["Trace-Id"]
    store = RedisStore(broker.url, 5000)

    wanted = {
        ("files.share", "server"),
        ("accounts.retrieve_user", "client"),
        ("accounts.retrieve_user", "server"),
        ("process files.events", "consumer"),
    }

    def spans_of_trace() -> dict[tuple[str, str], dict]:
        # Each process hands its spans over about once a second. files.events
        # has two groups (files indexes for search): keep notifications'.
        found = {
            (r["name"], r["kind"]): r
            for r in store.records()
            if r["trace_id"] == trace_id
            and (r["kind"] != "consumer" or "notifications" in r["service"].split(","))
        }
        return found if wanted <= set(found) else {}

    found = wait_until(spans_of_trace, f"the spans of trace {trace_id} from every unit")
    assert isinstance(found, dict)
    server = found[("files.share", "server")]
    client = found[("accounts.retrieve_user", "client")]
    callee = found[("accounts.retrieve_user", "server")]
    processor = found[("process files.events", "consumer")]
    assert client["parent_id"] == server["span_id"]
    assert callee["parent_id"] == client["span_id"]
    assert client["attributes"]["ucloud.transport"] == "remote"
    # A unit's spans are named after the services it serves.
    assert {server["service"], callee["service"], processor["service"]} == {
        "files", "accounts", "audit,notifications",
    }  # fmt: skip
    assert processor["links"] == [{"trace_id": trace_id, "span_id": server["span_id"]}]


def test_every_inspection_page_with_the_units_apart(
    apart: ApartDeployment,
    browser,  # noqa: F811
) -> None:
    with HttpApi(apart.gateway_url) as api:
        tokens = users(api, apart, "ines", "ivo")
    response = share(apart, tokens["ines"], "/inspected.txt", "ivo")
    assert response.status_code == 200
    letter = bury(apart, "ines", "ivo")
    base = apart.gateway_url

    inspection.log_in(browser, base, apart.admin.username, apart.admin.password)
    inspection.check_index(browser, base, "apart")
    inspection.check_catalog(browser, base, "apart", "files")
    inspection.check_picture(browser, base, "apart", UNITS)
    inspection.check_calls(browser, base, "apart", "remote")
    # The worker's span reaches the store within a second or so.
    wait_until(
        lambda: any(
            r["trace_id"] == response.headers["Trace-Id"] and r["kind"] == "consumer"
            for r in RedisStore(apart.base["REDIS_URL"], 5000).records()
        ),
        "the processor's span",
    )
    inspection.check_traces(browser, base, "apart", response.headers["Trace-Id"])
    inspection.check_live(browser, base, "apart", UNITS)
    inspection.retry_dead_letter(browser, base, "apart", "notifications", letter)

    with HttpApi(base) as api:
        notes = browse_notifications(api, tokens["ivo"], items_per_page=50)["items"]
    assert "ines shared /buried.txt with you" in [note["message"] for note in notes]
