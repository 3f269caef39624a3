"""The accounts calls over HTTP (Django test client) and in process (descriptions)."""

from __future__ import annotations

import json
import logging

import pytest

from apps.accounts import services
from apps.accounts.api import AccountDescriptions
from ucloud.client import RPCClient
from ucloud.exceptions import RPCException
from ucloud.roles import Role
from ucloud.tokens import mint_access_token, mint_refresh_token, service_token

pytestmark = pytest.mark.django_db

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
    assert entry["request"] == {"username": "alice", "password": "***"}
    assert PASSWORD not in caplog.text


def test_refresh_over_http(client):
    response = post(client, "/api/accounts/refresh", {"refresh_token": mint_refresh_token("root")})
    assert response.status_code == 200
    me = client.get(
        "/api/accounts/whoami", HTTP_AUTHORIZATION=f"Bearer {response.json()['access_token']}"
    )
    assert me.json() == {"username": "root", "role": "ADMIN"}


def test_access_token_used_as_refresh_token_is_401(client):
    token = mint_access_token("alice", Role.USER)
    response = post(client, "/api/accounts/refresh", {"refresh_token": token})
    assert response.status_code == 401
    assert response.json()["error_code"] == "invalid_token"


def test_refresh_token_used_as_access_token_is_401(client):
    response = client.get(
        "/api/accounts/whoami", HTTP_AUTHORIZATION=f"Bearer {mint_refresh_token('alice')}"
    )
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
