"""Proof: the whole system apart on this machine, behind a real nginx.

config/topology.toml's three units (accounts, files, notifications), each
its own gunicorn, Celery worker (and beat) on its own PostgreSQL database,
a private Redis as broker and nginx generated from the same topology in
front (see conftest.py):

1. the one scenario runs through the gateway with the same results as in one
   process, notifications delivered by the notifications unit's worker;
2. with notifications killed, its calls fail fast with a 502 naming it,
   files keeps serving, and its events wait in its queue until it is back;
3. with accounts killed, files' share (which asks accounts) fails fast with
   a 502 naming accounts, while browse, create and retrieve keep working.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest

from tests.scenario.scenario import (
    Credentials,
    browse_all,
    browse_notifications,
    create_file,
    expect_error,
    expect_ok,
    login,
    run_scenario,
)
from tests.ucloud.test_bad_input import JSON, TOO_BIG, TOO_DEEP, kit_error
from ucloud.deploy.topology import database_url
from ucloud.testing import HttpApi
from ucloud.testing.apart import ApartDeployment
from ucloud.testing.private_redis import PrivateRedis

pytestmark = pytest.mark.e2e

NOTIFICATIONS_QUEUE = "ucloud.notifications"
# Asynchronous delivery (relay thread, Redis, the worker) takes well under a
# second here; this only bounds how long a broken deployment is waited for.
DELIVERY_WAIT = 30.0
# "Fail fast": a dead unit's connection is refused at once; nginx's own
# connect timeout (2 s) bounds the worst case. Far below any read timeout.
FAIL_FAST_SECONDS = 5.0


def wait_until(condition: Callable[[], bool], what: str, timeout: float = DELIVERY_WAIT) -> None:
    give_up = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > give_up:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.1)


def timed(request: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    result = request()
    return result, time.monotonic() - started


def new_user(api: HttpApi, admin_token: str, username: str) -> str:
    """Create a USER through the gateway; their access token."""
    password = f"{username}-password-1"
    user = {"username": username, "password": password, "role": "USER"}
    expect_ok(api.request("POST", "/api/accounts/users", json=user, token=admin_token))
    return login(api, Credentials(username, password))["access_token"]


def deliveries_pending(broker: PrivateRedis, group: str = "notifications") -> int:
    """Entries of files' events the group has not acknowledged: read and
    pending, or not read yet (its lag), over every partition."""
    client = broker.client()
    total = 0
    for key in client.scan_iter(match="ucloud:events:files.events:*"):
        for info in client.xinfo_groups(key):
            if info["name"].decode() == group:
                total += int(info["pending"]) + int(info["lag"] or 0)
    return total


def notes(api: HttpApi, token: str) -> list[tuple[str, str]]:
    """A user's notifications, newest first, as (type, message)."""
    items = browse_notifications(api, token, items_per_page=100)["items"]
    return [(note["type"], note["message"]) for note in items]


def query(apart: ApartDeployment, unit: str, statement: str) -> list[tuple[Any, ...]]:
    """Rows of ``statement`` on ``unit``'s own database, read directly."""
    url = database_url(apart.server_url, apart.topology.unit(unit).database)
    with psycopg.connect(url, connect_timeout=5) as conn:
        return conn.execute(statement).fetchall()


def test_the_scenario_through_the_gateway_gives_the_same_results_as_one_process(
    apart: ApartDeployment,
) -> None:
    with HttpApi(apart.gateway_url) as api:
        run_scenario(api, admin=apart.admin, notification_wait=DELIVERY_WAIT)
    # nginx sent every namespace to its own unit: each unit's /status through
    # the gateway names its services only, and its access log shows all three.
    for unit in apart.topology.units:
        status = httpx.get(f"{apart.gateway_url}/status/{unit.name}", timeout=5)
        assert status.status_code == 200, status.text
        assert status.json()["services"] == sorted(unit.services)
    access_log = (apart.run_dir / "nginx-access.log").read_text()
    for name in ("accounts", "files", "notifications"):
        assert f"unit={name} " in access_log
    # Each notification was written by the notifications unit's worker into
    # its own database; files' outbox in files' database was relayed in full.
    scenario_notes = (
        "SELECT count(*) FROM notifications_notification WHERE username IN ('alice', 'bob')"
    )
    assert query(apart, "notifications", scenario_notes) == [(8,)]
    # Its own outbox keeps taking rows after the scenario: the audit records
    # of the last calls, flushed every AUDIT_FLUSH_INTERVAL and relayed after
    # that commit. Every row must be relayed, not every row at one instant.
    unrelayed = "SELECT count(*) FROM ucloud_outboxevent WHERE relayed_at IS NULL"
    wait_until(lambda: query(apart, "files", unrelayed) == [(0,)], "files' outbox relayed")
    assert query(apart, "files", unrelayed) == [(0,)]


def test_with_notifications_dead_its_calls_fail_fast_files_serves_and_its_events_wait(
    apart: ApartDeployment, broker: PrivateRedis
) -> None:
    with HttpApi(apart.gateway_url) as api:
        admin_token = login(api, apart.admin)["access_token"]
        carol, dave = new_user(api, admin_token, "carol"), new_user(api, admin_token, "dave")
        create_file(api, carol, "/before.txt", 1)
        wait_until(
            lambda: len(notes(api, carol)) == 1 and deliveries_pending(broker) == 0,
            "the first notification is delivered and acknowledged",
        )

        apart.kill("notifications")
        response, elapsed = timed(
            lambda: api.request("GET", "/api/notifications/browse", token=carol)
        )
        body = expect_error(response, 502, "bad_gateway")
        assert "notifications" in body["why"], body
        assert elapsed < FAIL_FAST_SECONDS

        # files and accounts do not need notifications: they keep serving.
        first = create_file(api, carol, "/during-1.txt", 2)
        create_file(api, carol, "/during-2.txt", 3)
        share = {"id": first["id"], "username": "dave"}
        shared = expect_ok(api.request("POST", "/api/files/share", json=share, token=carol))
        assert shared["shared_with"] == ["dave"]
        paths = [item["path"] for item in browse_all(api, carol, items_per_page=10)]
        assert paths == ["/before.txt", "/during-1.txt", "/during-2.txt"]

        # The events left files' outbox for their stream, and wait there for
        # the notifications group.
        unrelayed = "SELECT count(*) FROM ucloud_outboxevent WHERE relayed_at IS NULL"
        wait_until(
            lambda: query(apart, "files", unrelayed) == [(0,)],
            "files relays its outbox to the broker",
        )
        assert deliveries_pending(broker) > 0
        stored = (
            "SELECT username, message FROM notifications_notification"
            " WHERE username IN ('carol', 'dave') ORDER BY id"
        )
        assert query(apart, "notifications", stored) == [("carol", "You created /before.txt")]

        apart.start("notifications")
        apart.wait_ready(["notifications"])
        wait_until(
            lambda: len(notes(api, carol)) >= 3 and len(notes(api, dave)) >= 1,
            "the waiting events become notifications",
        )
        wait_until(lambda: deliveries_pending(broker) == 0, "every delivery is acknowledged")
        # Each event exactly once. (Order is kept per file, the stream's
        # key; the two files created during the outage are two keys, so
        # their notifications may come in either order.)
        assert sorted(notes(api, carol)) == [
            ("file_created", "You created /before.txt"),
            ("file_created", "You created /during-1.txt"),
            ("file_created", "You created /during-2.txt"),
        ]
        assert notes(api, carol)[-1] == ("file_created", "You created /before.txt")
        assert notes(api, dave) == [("file_shared", "carol shared /during-1.txt with you")]


def test_with_accounts_dead_share_fails_fast_naming_it_while_browse_keeps_working(
    apart: ApartDeployment,
) -> None:
    with HttpApi(apart.gateway_url) as api:
        admin_token = login(api, apart.admin)["access_token"]
        erin = new_user(api, admin_token, "erin")
        new_user(api, admin_token, "frank")
        file = create_file(api, erin, "/kept.txt", 5)

        apart.kill("accounts")
        # files asks accounts whether frank exists: the kit's HTTP transport
        # answers for the unreachable service.
        share = {"id": file["id"], "username": "frank"}
        response, elapsed = timed(
            lambda: api.request("POST", "/api/files/share", json=share, token=erin)
        )
        body = expect_error(response, 502, "bad_gateway")
        assert "accounts" in body["why"], body
        assert elapsed < FAIL_FAST_SECONDS
        # Calls to accounts itself: nginx answers, naming the unit.
        login_body = {"username": "erin", "password": "erin-password-1"}
        response, elapsed = timed(
            lambda: api.request("POST", "/api/accounts/login", json=login_body)
        )
        body = expect_error(response, 502, "bad_gateway")
        assert "accounts" in body["why"], body
        assert elapsed < FAIL_FAST_SECONDS

        # files checks tokens with accounts' public key: no call to accounts.
        assert [item["path"] for item in browse_all(api, erin, items_per_page=10)] == ["/kept.txt"]
        later = create_file(api, erin, "/while-accounts-is-down.txt", 6)
        retrieved = expect_ok(
            api.request("GET", "/api/files/retrieve", params={"id": later["id"]}, token=erin)
        )
        assert retrieved == later

        apart.start("accounts")
        apart.wait_ready(["accounts"])
        shared = expect_ok(api.request("POST", "/api/files/share", json=share, token=erin))
        assert shared["shared_with"] == ["frank"]


def test_bad_input_through_the_gateway_is_a_json_4xx(apart: ApartDeployment) -> None:
    # The same cases tests/ucloud/test_bad_input.py sends to one gunicorn,
    # now through nginx to the unit behind it.
    headers = {"Content-Type": JSON}

    def answer(method: str, path: str, **kwargs: Any) -> tuple[int, str]:
        response = httpx.request(method, f"{apart.gateway_url}{path}", timeout=30.0, **kwargs)
        return kit_error(response.status_code, response.headers["content-type"], response.content)

    assert answer("POST", "/api/files", content=TOO_DEEP, headers=headers) == (
        400,
        "malformed_body",
    )
    assert answer("POST", "/api/files", content=TOO_BIG, headers=headers)[0] == 413
    assert answer("GET", "/api/files/nothing-here")[0] == 404
