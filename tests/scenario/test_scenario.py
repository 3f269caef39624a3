"""The same scenario, run together and apart.

1. every service in this process, calls between them in-process;
2. every service in this process, every call between them forced over HTTP
   to a live server;
3. accounts and files in two gunicorn processes, one shared database.
"""

from __future__ import annotations

from contextlib import nullcontext

import pytest

from apps.files.api import FileDescriptions
from tests.scenario.conftest import Deployment, create_admin
from tests.scenario.scenario import USER_LOOKUPS_BY_FILES, Credentials, expect_error, run_scenario
from ucloud.contracts.errors import RPCException
from ucloud.contracts.roles import Role
from ucloud.testing import (
    HttpApi,
    InProcessApi,
    ServedRequest,
    client_for,
    forced_http,
    served_requests,
)

USER_LOOKUP_PATH = "/api/accounts/users/retrieve"


def user_lookups(seen: list[ServedRequest]) -> list[ServedRequest]:
    return [request for request in seen if request.path == USER_LOOKUP_PATH]


def test_scenario_passes_with_all_services_in_one_process(
    transactional_db: None, admin_credentials: Credentials
) -> None:
    create_admin(admin_credentials)
    api = InProcessApi()
    with served_requests() as seen:
        run_scenario(api, admin=admin_credentials)
    # files asked accounts about users (the 404 for an unknown user proves
    # it), but never through an HTTP request.
    assert len(seen) > 50
    assert user_lookups(seen) == []
    status, body = api.request("GET", "/status")
    assert (status, body["services"]) == (200, ["accounts", "audit", "files", "notifications"])


def test_scenario_passes_with_every_call_between_services_over_http(
    live_server, admin_credentials: Credentials
) -> None:
    create_admin(admin_credentials)
    with (
        forced_http(live_server.url),
        served_requests() as seen,
        HttpApi(live_server.url) as api,
    ):
        run_scenario(api, admin=admin_credentials)
    # Each share that reached accounts did so as an HTTP request made by the
    # files service on behalf of the driver's call.
    lookups = user_lookups(seen)
    assert len(lookups) == USER_LOOKUPS_BY_FILES
    for lookup in lookups:
        assert (lookup.method, lookup.role, lookup.username) == ("GET", Role.SERVICE, "_files")
        assert lookup.caused_by


@pytest.mark.e2e
def test_scenario_passes_with_accounts_and_files_in_separate_gunicorn_processes(
    deployment: Deployment,
) -> None:
    routes = {
        "/api/accounts": deployment.accounts.url,
        "/api/notifications": deployment.accounts.url,
    }
    with HttpApi(deployment.files.url, routes=routes) as api:
        run_scenario(api, admin=deployment.admin, notification_wait=30.0)
    # Stopping lets gunicorn finish writing its access log.
    deployment.stop()
    lookups = [
        line.split()
        for line in deployment.accounts.access_lines()
        if line.startswith(f"GET {USER_LOOKUP_PATH} ")
    ]
    # The driver never calls the lookup itself: these came from files.
    assert sorted(status for _, _, status, _ in lookups) == ["200", "404"]
    assert all(caused_by != "caused_by=-" for *_, caused_by in lookups)
    assert len(lookups) == USER_LOOKUPS_BY_FILES


@pytest.mark.e2e
def test_each_gunicorn_process_serves_only_its_own_service(deployment: Deployment) -> None:
    assert deployment.accounts_status["services"] == ["accounts", "notifications"]
    assert deployment.files_status["services"] == ["files"]
    with HttpApi(deployment.files.url) as files, HttpApi(deployment.accounts.url) as accounts:
        login = {"username": deployment.admin.username, "password": deployment.admin.password}
        expect_error(files.request("POST", "/api/accounts/login", json=login), 404, "not_found")
        status, body = accounts.request("POST", "/api/accounts/login", json=login)
        assert status == 200, body
        token = body["access_token"]
        browse = files.request("GET", "/api/files/browse", token=token)
        assert browse == (200, {"items": [], "next": None})
        expect_error(accounts.request("GET", "/api/files/browse", token=token), 404, "not_found")


@pytest.mark.parametrize("over_http", [False, True], ids=["in-process", "forced-http"])
def test_rpc_client_gets_the_same_answers_in_process_and_over_http(live_server, over_http) -> None:
    alice = client_for("alice")
    new_file = {"path": "/notes.txt", "size": 3}
    with forced_http(live_server.url) if over_http else nullcontext(), served_requests() as seen:
        created = FileDescriptions.create.call(new_file, alice)
        with pytest.raises(RPCException) as conflict:
            FileDescriptions.create.call(new_file, alice)
        with pytest.raises(RPCException) as invalid:
            FileDescriptions.create.call({"path": "notes.txt", "size": 3}, alice)
        page = FileDescriptions.browse.call({"items_per_page": 10}, alice)
    assert (created["path"], created["owner"]) == ("/notes.txt", "alice")
    assert (conflict.value.status, conflict.value.error_code) == (409, "path_exists")
    assert (invalid.value.status, invalid.value.error_code) == (400, "invalid_request")
    assert set(invalid.value.errors) == {"path"}
    assert page == {"items": [created], "next": None}
    # Over HTTP each call is one request carrying alice's token; in process, none.
    expected = [("POST", "/api/files")] * 3 + [("GET", "/api/files/browse")] if over_http else []
    assert [(request.method, request.path) for request in seen] == expected
    assert all((r.username, r.role) == ("alice", Role.USER) for r in seen)
