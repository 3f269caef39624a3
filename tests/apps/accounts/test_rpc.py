"""The accounts calls over HTTP (Django test client) and in process (descriptions)."""

from __future__ import annotations

import json
import logging
from contextlib import nullcontext

import pytest
from django.conf import settings
from django.test import override_settings

from apps.accounts import services
from apps.accounts.api import AccountDescriptions
from tests.conftest import clear_throttles
from ucloud.auth.credentials import service_token
from ucloud.auth.tokens import mint_access_token, mint_refresh_token
from ucloud.contracts.errors import RPCException, TooManyRequests
from ucloud.contracts.roles import Role
from ucloud.rpc.client import RPCClient
from ucloud.testing import forced_http

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_throttles")]

JSON = "application/json"
PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def users() -> None:
    services.user_create(username="alice", password=PASSWORD, role="USER")
    services.user_create(username="root", password=PASSWORD, role="ADMIN")


def bearer(username: str, role: Role) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {mint_access_token(username, role)}"}


def post(client, path: str, data, **headers):
    return client.post(path, data=json.dumps(data), content_type=JSON, **headers)


def test_login_then_whoami_over_http(client):
    response = post(client, "/api/accounts/login", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    tokens = response.json()
    assert set(tokens) == {"access_token", "refresh_token"}
    me = client.get("/api/accounts/whoami", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert me.json() == {"username": "alice", "role": "USER"}


def test_login_with_bad_credentials_is_401(client):
    response = post(client, "/api/accounts/login", {"username": "alice", "password": "nope"})
    assert response.status_code == 401
    assert response.json() == {
        "why": "Invalid username or password",
        "error_code": "bad_credentials",
    }


def test_login_is_audited_without_the_password(client, caplog):
    audit = logging.getLogger("ucloud.audit")
    audit.addHandler(caplog.handler)
    level = audit.level
    audit.setLevel(logging.INFO)
    try:
        post(client, "/api/accounts/login", {"username": "alice", "password": PASSWORD})
    finally:
        audit.removeHandler(caplog.handler)
        audit.setLevel(level)
    (entry,) = [json.loads(r.getMessage()) for r in caplog.records if r.name == "ucloud.audit"]
    assert entry["call"] == "accounts.login"
    assert json.loads(entry["request"]) == {"username": "alice", "password": "***"}
    assert PASSWORD not in caplog.text


def login(client, username: str = "root", password: str = PASSWORD):
    return post(client, "/api/accounts/login", {"username": username, "password": password})


def test_refresh_over_http_rotates_the_pair(client):
    refresh_token = login(client).json()["refresh_token"]
    response = post(client, "/api/accounts/refresh", {"refresh_token": refresh_token})
    assert response.status_code == 200
    assert set(response.json()) == {"access_token", "refresh_token"}
    me = client.get(
        "/api/accounts/whoami", HTTP_AUTHORIZATION=f"Bearer {response.json()['access_token']}"
    )
    assert me.json() == {"username": "root", "role": "ADMIN"}
    again = post(client, "/api/accounts/refresh", {"refresh_token": refresh_token})
    assert (again.status_code, again.json()["error_code"]) == (401, "token_reused")


def test_logout_over_http_ends_the_refresh_token(client):
    refresh_token = login(client).json()["refresh_token"]
    response = post(client, "/api/accounts/logout", {"refresh_token": refresh_token})
    assert (response.status_code, response.json()) == (200, {})
    refused = post(client, "/api/accounts/refresh", {"refresh_token": refresh_token})
    assert (refused.status_code, refused.json()["error_code"]) == (401, "token_revoked")


def test_change_password_over_http(client):
    refresh_token = login(client, "alice").json()["refresh_token"]
    response = post(
        client,
        "/api/accounts/password",
        {"old_password": PASSWORD, "new_password": "a-new-long-password"},
        **bearer("alice", Role.USER),
    )
    assert (response.status_code, response.json()) == (200, {})
    refused = post(client, "/api/accounts/refresh", {"refresh_token": refresh_token})
    assert refused.json()["error_code"] == "token_revoked"
    assert login(client, "alice", "a-new-long-password").status_code == 200


def test_admin_deactivates_a_user_over_http(client):
    refresh_token = login(client, "alice").json()["refresh_token"]
    data = {"username": "alice"}
    denied = post(client, "/api/accounts/users/deactivate", data, **bearer("alice", Role.USER))
    assert denied.status_code == 403
    response = post(client, "/api/accounts/users/deactivate", data, **bearer("root", Role.ADMIN))
    assert (response.status_code, response.json()) == (200, {"username": "alice", "role": "USER"})
    refused = post(client, "/api/accounts/refresh", {"refresh_token": refresh_token})
    assert refused.json()["error_code"] == "token_revoked"


def few_failures_allowed():
    return override_settings(
        UCLOUD={**settings.UCLOUD, "LOGIN_FAILURES_PER_USERNAME": 2, "LOGIN_THROTTLE_WINDOW": 120}
    )


def test_throttled_login_over_http_is_429_with_retry_after(client):
    with few_failures_allowed():
        for _ in range(2):
            assert login(client, "alice", "wrong-password").status_code == 401
        response = login(client, "alice")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 120
    assert response.json()["error_code"] == "throttled"
    assert set(response.json()) == {"why", "error_code"}


def test_wrong_old_passwords_are_throttled_with_the_declared_429(client, recwarn):
    # They count as failed logins (a stolen access token must not become a
    # free password oracle); the call declares the answer it then gives.
    change = {"old_password": "wrong-password", "new_password": "a-new-horse-battery"}
    with few_failures_allowed():
        for _ in range(2):
            response = post(client, "/api/accounts/password", change, **bearer("alice", Role.USER))
            assert response.status_code == 400
        response = post(client, "/api/accounts/password", change, **bearer("alice", Role.USER))
    assert response.status_code == 429
    assert response.json()["error_code"] == "throttled"
    assert not [w for w in recwarn if "UndeclaredError" in type(w.message).__name__]


def test_throttled_login_raises_too_many_requests_on_both_transports(transactional_db, live_server):
    request = {"username": "alice", "password": "wrong-password"}
    with few_failures_allowed():
        for transport in (nullcontext(), forced_http(live_server.url)):
            clear_throttles()
            with transport:
                for _ in range(2):
                    call_error(AccountDescriptions.login, request, RPCClient())
                error = call_error(AccountDescriptions.login, request, RPCClient())
            assert type(error) is TooManyRequests
            assert error.retry_after is not None
            assert 0 < error.retry_after <= 120


def test_access_token_used_as_refresh_token_is_401(client):
    token = mint_access_token("alice", Role.USER)
    response = post(client, "/api/accounts/refresh", {"refresh_token": token})
    assert response.status_code == 401
    assert response.json()["error_code"] == "invalid_token"


def test_refresh_token_used_as_access_token_is_401(client):
    token = mint_refresh_token("alice", jti="j", family="f")
    response = client.get("/api/accounts/whoami", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401


def test_admin_creates_a_user_who_can_log_in(client):
    response = post(
        client,
        "/api/accounts/users",
        {"username": "bob", "password": PASSWORD, "role": "ADMIN"},
        **bearer("root", Role.ADMIN),
    )
    assert (response.status_code, response.json()) == (200, {"username": "bob", "role": "ADMIN"})
    login = post(client, "/api/accounts/login", {"username": "bob", "password": PASSWORD})
    assert login.status_code == 200


def test_create_user_defaults_to_user_role(client):
    response = post(
        client,
        "/api/accounts/users",
        {"username": "bob", "password": PASSWORD},
        **bearer("root", Role.ADMIN),
    )
    assert response.json()["role"] == "USER"


def test_create_existing_user_is_409(client):
    response = post(
        client,
        "/api/accounts/users",
        {"username": "alice", "password": PASSWORD},
        **bearer("root", Role.ADMIN),
    )
    assert response.status_code == 409
    assert response.json()["error_code"] == "user_exists"


def test_create_user_with_weak_password_is_400_with_password_errors(client):
    response = post(
        client,
        "/api/accounts/users",
        {"username": "bob", "password": "short"},
        **bearer("root", Role.ADMIN),
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error_code"] == "invalid_request"
    assert list(body["errors"]) == ["password"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"username": "bad name", "password": PASSWORD}, "username"),
        ({"username": "bob", "password": PASSWORD, "role": "SERVICE"}, "role"),
    ],
)
def test_create_user_validates_fields(client, data, field):
    response = post(client, "/api/accounts/users", data, **bearer("root", Role.ADMIN))
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_create_user_as_user_is_403(client):
    response = post(
        client,
        "/api/accounts/users",
        {"username": "bob", "password": PASSWORD},
        **bearer("alice", Role.USER),
    )
    assert response.status_code == 403


def test_retrieve_user_as_admin_over_http(client):
    response = client.get(
        "/api/accounts/users/retrieve", {"username": "alice"}, **bearer("root", Role.ADMIN)
    )
    assert response.json() == {"username": "alice", "role": "USER"}


def test_retrieve_unknown_user_is_404(client):
    response = client.get(
        "/api/accounts/users/retrieve", {"username": "ghost"}, **bearer("root", Role.ADMIN)
    )
    assert response.status_code == 404
    assert response.json()["error_code"] == "unknown_user"


def call_error(described, request, client) -> RPCException:
    with pytest.raises(RPCException) as info:
        described.call(request, client)
    return info.value


def test_retrieve_user_as_user_is_403():
    alice = RPCClient.for_token(mint_access_token("alice", Role.USER))
    error = call_error(AccountDescriptions.retrieve_user, {"username": "root"}, alice)
    assert error.status == 403


def test_retrieve_user_as_a_service():
    files = RPCClient.for_service("files")
    assert AccountDescriptions.retrieve_user.call({"username": "root"}, files) == {
        "username": "root",
        "role": "ADMIN",
    }
    error = call_error(AccountDescriptions.retrieve_user, {"username": "ghost"}, files)
    assert (error.status, error.error_code) == (404, "unknown_user")


def test_whoami_of_a_service_principal():
    assert AccountDescriptions.whoami.call({}, RPCClient.for_service("files")) == {
        "username": "_files",
        "role": "SERVICE",
    }


def test_whoami_of_a_service_token_over_http(client):
    token = service_token("accounts", audience="accounts")
    response = client.get("/api/accounts/whoami", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.json() == {"username": "_accounts", "role": "SERVICE"}


def test_login_in_process_matches_http():
    tokens = AccountDescriptions.login.call({"username": "root", "password": PASSWORD}, RPCClient())
    me = AccountDescriptions.whoami.call({}, RPCClient.for_token(tokens["access_token"]))
    assert me == {"username": "root", "role": "ADMIN"}
