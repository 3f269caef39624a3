"""One check of the principal on every transport, forwarding, and the verified-token cache."""

from __future__ import annotations

import time
from contextlib import nullcontext
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from django.test import RequestFactory, override_settings

from apps.accounts.api import AccountDescriptions
from apps.files.api import FileDescriptions
from ucloud.auth import tokens
from ucloud.auth.authentication import authenticate, client_address
from ucloud.auth.credentials import bearer_token, service_principal, service_token
from ucloud.auth.principal import GUEST, Principal
from ucloud.auth.tokens import decode_access_token, mint_access_token, mint_forwarded_token
from ucloud.contracts.errors import Forbidden, RPCException, Unauthorized
from ucloud.contracts.roles import Role
from ucloud.rpc.client import RPCClient
from ucloud.testing import forced_http

WHOAMI = AccountDescriptions.whoami
RETRIEVE_USER = AccountDescriptions.retrieve_user


def outcome(described: Any, request: Any, client: RPCClient) -> tuple[Any, ...]:
    try:
        return ("ok", described.call(request, client))
    except RPCException as error:
        return (type(error), error.status, error.body())


def both_ways(live_server: Any, described: Any, request: Any, client: RPCClient) -> tuple:
    """The outcome in one process, which must equal the outcome over HTTP."""
    results = []
    for force in (False, True):
        with forced_http(live_server.url) if force else nullcontext():
            results.append(outcome(described, request, client))
    assert results[0] == results[1]
    return results[0]


@pytest.fixture
def later(monkeypatch):
    """Moves the kit's clock past every token minted so far."""
    real = time.time

    def shift(seconds: float) -> None:
        monkeypatch.setattr(tokens, "time", SimpleNamespace(time=lambda: real() + seconds))

    return shift


def test_a_token_that_expired_after_the_client_was_made_fails_on_both_transports(
    live_server, later
):
    client = RPCClient.for_token(mint_access_token("alice", Role.USER))
    assert both_ways(live_server, WHOAMI, {}, client)[0] == "ok"
    later(3600)
    kind, status, body = both_ways(live_server, WHOAMI, {}, client)
    assert (kind, status, body["error_code"]) == (Unauthorized, 401, "token_expired")


def test_an_expired_token_is_refused_in_process_as_over_http(live_server):
    with override_settings(UCLOUD={**settings.UCLOUD, "ACCESS_TOKEN_LIFETIME": -60}):
        expired = mint_access_token("alice", Role.USER)
    client = RPCClient(Principal("alice", Role.USER, token=expired, audience="ucloud"))
    kind, status, body = both_ways(live_server, WHOAMI, {}, client)
    assert (kind, status, body["error_code"]) == (Unauthorized, 401, "token_expired")


def test_a_service_token_for_accounts_is_refused_by_files_in_process_as_over_http(live_server):
    client = RPCClient.for_token(service_token("files", audience="accounts"))
    assert both_ways(live_server, WHOAMI, {}, client) == (
        "ok",
        {"username": "_files", "role": "SERVICE"},
    )
    kind, status, body = both_ways(live_server, FileDescriptions.browse, {}, client)
    assert (kind, status, body["error_code"]) == (Unauthorized, 401, "wrong_audience")
    assert "'accounts'" in body["why"]


def test_a_service_forwards_its_caller_the_same_way_on_both_transports(live_server, db):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("bob", password="a-long-enough-password")
    # notifications received files' token, and passes files on to accounts.
    received = decode_access_token(
        service_token("files", audience="notifications"), audiences={"notifications"}
    )
    forwarding = RPCClient(received, forwarded_by="notifications")
    assert both_ways(live_server, WHOAMI, {}, forwarding) == (
        "ok",
        {"username": "_files", "role": "SERVICE"},
    )
    # accounts sees files, so files' privileges hold: only files may look users up.
    assert both_ways(live_server, RETRIEVE_USER, {"username": "bob"}, forwarding)[0] == "ok"
    # Not passed on by its audience, the same token is refused everywhere.
    kind, _, body = both_ways(live_server, WHOAMI, {}, RPCClient(received))
    assert (kind, body["error_code"]) == (Unauthorized, "wrong_audience")


def test_a_forwarded_principal_names_who_forwarded_it():
    received = decode_access_token(
        service_token("files", audience="notifications"), audiences={"notifications"}
    )
    token = bearer_token(received, "accounts", forwarded_by="notifications")
    assert token is not None
    seen = decode_access_token(token, audiences={"accounts"})
    assert (seen.username, seen.role, seen.via, seen.audience) == (
        "_files",
        Role.SERVICE,
        ("notifications",),
        "accounts",
    )
    # Forwarded again, the chain grows.
    onward = bearer_token(seen, "files", forwarded_by="accounts")
    assert onward is not None
    assert decode_access_token(onward, audiences={"files"}).via == ("notifications", "accounts")


def test_a_service_cannot_forward_a_token_that_was_not_given_to_it():
    # accounts got files' token meant for notifications, and tries to use it.
    stolen = decode_access_token(
        service_token("files", audience="notifications"), audiences={"notifications"}
    )
    forged = mint_forwarded_token(stolen, forwarder="accounts", audience="files")
    with pytest.raises(Unauthorized) as info:
        decode_access_token(forged, audiences={"files"})
    assert info.value.error_code == "invalid_token"
    assert "not given to it" in info.value.why


def test_a_forwarded_token_expires_with_the_token_it_carries(later):
    received = decode_access_token(
        service_token("files", audience="notifications"), audiences={"notifications"}
    )
    with override_settings(UCLOUD={**settings.UCLOUD, "SERVICE_TOKEN_LIFETIME": 36000}):
        forwarded = mint_forwarded_token(received, forwarder="notifications", audience="accounts")
    later(3600)  # past files' token (600 s), not past the forwarded one
    with pytest.raises(Unauthorized) as info:
        decode_access_token(forwarded, audiences={"accounts"})
    assert info.value.error_code == "token_expired"


def test_user_tokens_go_as_they_are_and_services_present_tokens_for_the_target():
    alice = decode_access_token(mint_access_token("alice", Role.USER))
    assert bearer_token(alice, "files") == alice.token
    assert bearer_token(alice, "files", forwarded_by="notifications") == alice.token
    assert bearer_token(GUEST, "files") is None
    files = bearer_token(service_principal("files"), "accounts")
    assert files is not None
    assert decode_access_token(files, audiences={"accounts"}).service == "files"


def test_authenticate_is_the_check_of_both_transports():
    assert authenticate(None, audiences={"files"}) is GUEST
    token = service_token("files", audience="accounts")
    assert authenticate(token, audiences={"accounts"}).service == "files"
    with pytest.raises(Unauthorized):
        authenticate(token, audiences={"files"})


def test_a_token_is_verified_once_then_served_from_the_cache(monkeypatch):
    token = mint_access_token("carol", Role.USER)
    decoded: list[str] = []
    real = tokens._decode

    def counting(raw: str, token_type: str) -> dict[str, Any]:
        decoded.append(raw)
        return real(raw, token_type)

    monkeypatch.setattr(tokens, "_decode", counting)
    first = decode_access_token(token)
    assert decode_access_token(token) is first
    assert decoded == [token]


def test_role_and_callers_are_still_checked_after_authentication(live_server):
    client = RPCClient.for_service("notifications")
    kind, status, body = both_ways(live_server, RETRIEVE_USER, {"username": "x"}, client)
    assert (kind, status, body["error_code"]) == (Forbidden, 403, "caller_not_allowed")


def request_from(remote: str, forwarded: str | None = None) -> Any:
    request = RequestFactory().get("/")
    request.META["REMOTE_ADDR"] = remote
    if forwarded is not None:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded
    return request


def test_client_address_believes_forwarded_for_only_from_trusted_proxies():
    spoofed = request_from("203.0.113.9", "10.9.9.9")
    assert client_address(spoofed) == "203.0.113.9"
    proxies = {**settings.UCLOUD, "TRUSTED_PROXIES": ["127.0.0.1", "10.0.0.0/8"]}
    with override_settings(UCLOUD=proxies):
        assert client_address(spoofed) == "203.0.113.9"
        # nginx on loopback appended the client; a forged first entry is skipped.
        via_gateway = request_from("127.0.0.1", "1.2.3.4, 198.51.100.7, 10.1.1.1")
        assert client_address(via_gateway) == "198.51.100.7"
        assert client_address(request_from("127.0.0.1")) == "127.0.0.1"
