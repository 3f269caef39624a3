"""JWTs: round trips, expiry, keys, token types, tampering and SERVICE tokens."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from ucloud.auth.credentials import service_principal, service_token
from ucloud.auth.tokens import (
    RefreshClaims,
    decode_access_token,
    decode_refresh_token,
    mint_access_token,
    mint_refresh_token,
)
from ucloud.contracts.errors import Unauthorized
from ucloud.contracts.roles import Role

REPO = Path(__file__).resolve().parents[2]
KEY_A = "a-signing-key-shared-by-one-deployment-0123456789"
KEY_B = "b-signing-key-of-some-other-deployment-9876543210"


def mint_in_other_process(signing_key: str) -> str:
    """An access token minted by a separate Django process configured with ``signing_key``."""
    script = (
        "import django; django.setup()\n"
        "from ucloud.contracts.roles import Role\n"
        "from ucloud.auth.tokens import mint_access_token\n"
        "print(mint_access_token('mallory', Role.USER))\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "UCLOUD_SIGNING_KEY": signing_key,
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def assert_unauthorized(token: str, code: str = "invalid_token") -> None:
    with pytest.raises(Unauthorized) as info:
        decode_access_token(token)
    assert info.value.status == 401
    assert info.value.error_code == code


def test_access_token_round_trip():
    token = mint_access_token("alice", Role.USER, ("files:read",))
    principal = decode_access_token(token)
    assert principal.username == "alice"
    assert principal.role is Role.USER
    assert principal.scopes == ("files:read",)
    assert principal.token == token


def refresh_token(username: str = "alice") -> str:
    return mint_refresh_token(username, jti="j1", family="f1")


def test_refresh_token_round_trip_carries_its_id_and_family():
    token = refresh_token()
    assert decode_refresh_token(token) == RefreshClaims("alice", "j1", "f1")


def test_expired_access_token_is_token_expired():
    with override_settings(UCLOUD={"ACCESS_TOKEN_LIFETIME": -60}):
        token = mint_access_token("alice", Role.USER)
    assert_unauthorized(token, "token_expired")


def test_expired_refresh_token_is_token_expired():
    with override_settings(UCLOUD={"REFRESH_TOKEN_LIFETIME": -60}):
        token = refresh_token()
    with pytest.raises(Unauthorized) as info:
        decode_refresh_token(token)
    assert info.value.error_code == "token_expired"


def test_token_signed_with_another_key_is_refused():
    with override_settings(UCLOUD={"SIGNING_KEY": KEY_B}):
        token = mint_access_token("alice", Role.USER)
    with override_settings(UCLOUD={"SIGNING_KEY": KEY_A}):
        assert_unauthorized(token)


def test_refresh_token_is_not_an_access_token():
    assert_unauthorized(refresh_token())


def test_access_token_is_not_a_refresh_token():
    with pytest.raises(Unauthorized) as info:
        decode_refresh_token(mint_access_token("alice", Role.USER))
    assert info.value.status == 401


def test_tampered_token_is_refused():
    header, payload, signature = mint_access_token("alice", Role.USER).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "ADMIN"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert_unauthorized(f"{header}.{forged}.{signature}")


def test_garbage_is_refused():
    assert_unauthorized("not-a-jwt")


def test_token_of_a_process_with_another_signing_key_is_refused():
    token = mint_in_other_process(KEY_B)
    with override_settings(UCLOUD={"SIGNING_KEY": KEY_A}):
        assert_unauthorized(token)


def test_token_of_a_process_sharing_the_signing_key_is_accepted():
    token = mint_in_other_process(KEY_A)
    # Different SECRET_KEYs do not matter when the signing key is shared.
    with override_settings(UCLOUD={"SIGNING_KEY": KEY_A}, SECRET_KEY="x" * 50):
        assert decode_access_token(token).username == "mallory"


def test_two_settings_sharing_the_key_accept_each_other():
    with override_settings(SECRET_KEY="first-secret-" * 4, UCLOUD={"SIGNING_KEY": KEY_A}):
        token = mint_access_token("alice", Role.ADMIN)
    with override_settings(SECRET_KEY="second-secret-" * 4, UCLOUD={"SIGNING_KEY": KEY_A}):
        assert decode_access_token(token).role is Role.ADMIN


def test_without_signing_key_the_secret_key_signs():
    with override_settings(SECRET_KEY=KEY_A, UCLOUD={}):
        token = mint_access_token("alice", Role.USER)
    with override_settings(SECRET_KEY="y" * 50, UCLOUD={"SIGNING_KEY": KEY_A}):
        assert decode_access_token(token).username == "alice"
    with override_settings(SECRET_KEY="y" * 50, UCLOUD={}):
        assert_unauthorized(token)


def test_guest_role_in_a_token_is_refused():
    assert_unauthorized(mint_access_token("nobody", Role.GUEST))


def test_service_principal_has_service_role_and_names_its_service():
    principal = service_principal("files")
    assert principal.role is Role.SERVICE
    assert principal.username == "_files"
    assert principal.service == "files"


def test_service_token_decodes_to_the_service_principal():
    token = service_token("files", audience="accounts")
    principal = decode_access_token(token, audiences={"accounts"})
    assert principal == service_principal("files")
    assert principal.token == token


def test_service_token_is_reused_before_half_life():
    with override_settings(UCLOUD={"SERVICE_TOKEN_LIFETIME": 600}):
        token = service_token("files", audience="accounts")
        assert service_token("files", audience="accounts") == token
        # One token per caller and per audience.
        assert service_token("files", audience="notifications") != token
        assert service_token("accounts", audience="accounts") != token


def test_service_token_is_reminted_past_half_life():
    # A zero lifetime puts the half-life in the past at once.
    with override_settings(UCLOUD={"SERVICE_TOKEN_LIFETIME": 0}):
        first = service_token("files", audience="accounts")
        assert service_token("files", audience="accounts") != first


def test_service_token_follows_a_new_signing_key():
    with override_settings(UCLOUD={"SIGNING_KEY": KEY_A}):
        token = service_token("files", audience="accounts")
    with override_settings(UCLOUD={"SIGNING_KEY": KEY_B}):
        fresh = service_token("files", audience="accounts")
        assert fresh != token
        assert decode_access_token(fresh).role is Role.SERVICE
        assert_unauthorized(token)


@pytest.mark.parametrize(
    "odd",
    [
        {"scopes": 5},
        {"scopes": [1, None]},
        {"scopes": "all:write"},
        {"sub": 7},
        {"sub": ""},
        {"sub": "a\x00b"},
        {"sub": "x" * 201},
    ],
)
def test_a_signed_token_with_claims_of_another_shape_is_refused_not_a_crash(odd):
    from ucloud.auth import tokens
    from ucloud.settings import ucloud_settings

    claims = {
        "sub": "alice",
        "role": "USER",
        "scopes": ["all:write"],
        "typ": tokens.ACCESS,
        "aud": tokens.USER_AUDIENCE,
        **odd,
    }
    assert_unauthorized(tokens._mint(claims, 300, signer=ucloud_settings.AUTH_SERVICE))
