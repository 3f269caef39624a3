"""Business logic of accounts: credentials, throttling, refresh tokens and users."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from apps.accounts import services
from apps.accounts.models import RefreshToken, User
from ucloud.auth.tokens import decode_access_token, decode_refresh_token
from ucloud.contracts.errors import (
    BadRequest,
    Conflict,
    NotFound,
    RPCException,
    TooManyRequests,
    Unauthorized,
)
from ucloud.contracts.roles import Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_throttles")]

PASSWORD = "correct-horse-battery"


@pytest.fixture
def alice() -> User:
    return services.user_create(username="alice", password=PASSWORD, role="USER")


def login(username: str = "alice", password: str = PASSWORD, **kwargs) -> dict[str, str]:
    return services.user_login(username=username, password=password, **kwargs)


def expect(error: type[RPCException], code: str, function, **kwargs) -> RPCException:
    with pytest.raises(error) as info:
        function(**kwargs)
    assert info.value.error_code == code
    return info.value


def test_login_returns_tokens_for_the_user(alice):
    tokens = services.user_login(username="alice", password=PASSWORD)
    principal = decode_access_token(tokens["access_token"])
    assert (principal.username, principal.role) == ("alice", Role.USER)
    assert decode_refresh_token(tokens["refresh_token"]).username == "alice"


def test_login_with_a_wrong_password_is_401(alice):
    error = expect(
        Unauthorized,
        "bad_credentials",
        services.user_login,
        username="alice",
        password="wrong-password",
    )
    assert error.status == 401


def test_login_of_an_unknown_user_is_the_same_401():
    expect(
        Unauthorized, "bad_credentials", services.user_login, username="ghost", password=PASSWORD
    )


def test_login_of_an_inactive_user_is_401(alice):
    alice.is_active = False
    alice.save()
    expect(
        Unauthorized, "bad_credentials", services.user_login, username="alice", password=PASSWORD
    )


def test_refresh_rotates_the_pair(alice):
    first = login()
    second = services.token_refresh(refresh_token=first["refresh_token"])
    assert decode_access_token(second["access_token"]).username == "alice"
    old, new = (decode_refresh_token(t["refresh_token"]) for t in (first, second))
    assert new.family == old.family
    assert new.jti != old.jti
    # The new one works in turn.
    services.token_refresh(refresh_token=second["refresh_token"])


def test_reusing_a_rotated_refresh_token_revokes_its_family(alice):
    first = login()
    second = services.token_refresh(refresh_token=first["refresh_token"])
    expect(
        Unauthorized, "token_reused", services.token_refresh, refresh_token=first["refresh_token"]
    )
    # The thief's copy and the rightful holder's newer token both stop working.
    expect(
        Unauthorized, "token_revoked", services.token_refresh, refresh_token=second["refresh_token"]
    )
    # Another login (another family) is unaffected.
    services.token_refresh(refresh_token=login()["refresh_token"])


def test_logout_revokes_the_family_only(alice):
    here, elsewhere = login(), login()
    rotated = services.token_refresh(refresh_token=here["refresh_token"])
    services.token_revoke(refresh_token=rotated["refresh_token"])
    expect(
        Unauthorized,
        "token_revoked",
        services.token_refresh,
        refresh_token=rotated["refresh_token"],
    )
    services.token_refresh(refresh_token=elsewhere["refresh_token"])


def test_password_change_revokes_every_refresh_token_of_the_user(alice):
    tokens = [login(), login()]
    services.user_change_password(
        username="alice", old_password=PASSWORD, new_password="another-long-password"
    )
    for pair in tokens:
        expect(
            Unauthorized,
            "token_revoked",
            services.token_refresh,
            refresh_token=pair["refresh_token"],
        )
    login(password="another-long-password")


def test_password_set_elsewhere_also_invalidates_refresh_tokens(alice):
    # The admin page or a shell sets a password without going through the service.
    token = login()["refresh_token"]
    alice.set_password("set-in-the-admin-page")
    alice.save()
    expect(Unauthorized, "token_revoked", services.token_refresh, refresh_token=token)


def test_change_password_needs_the_old_one_and_a_valid_new_one(alice):
    error = expect(
        BadRequest,
        "invalid_request",
        services.user_change_password,
        username="alice",
        old_password="wrong-password",
        new_password="another-long-password",
    )
    assert list(error.errors) == ["old_password"]
    error = expect(
        BadRequest,
        "invalid_request",
        services.user_change_password,
        username="alice",
        old_password=PASSWORD,
        new_password="short",
    )
    assert list(error.errors) == ["new_password"]
    login()


def test_deactivation_revokes_refresh_tokens_and_blocks_login(alice):
    token = login()["refresh_token"]
    services.user_deactivate(username="alice")
    expect(Unauthorized, "token_revoked", services.token_refresh, refresh_token=token)
    expect(
        Unauthorized, "bad_credentials", services.user_login, username="alice", password=PASSWORD
    )
    assert not RefreshToken.objects.filter(user=alice, revoked_at__isnull=True).exists()
    expect(NotFound, "unknown_user", services.user_deactivate, username="ghost")


def test_deactivated_in_the_admin_page_cannot_refresh(alice):
    token = login()["refresh_token"]
    alice.is_active = False
    alice.save()
    expect(Unauthorized, "token_revoked", services.token_refresh, refresh_token=token)


def test_refresh_follows_a_role_change(alice):
    token = login()["refresh_token"]
    alice.role = "ADMIN"
    alice.save()
    access = services.token_refresh(refresh_token=token)["access_token"]
    assert decode_access_token(access).role is Role.ADMIN


def test_an_unrecorded_refresh_token_is_refused(alice):
    from ucloud.auth.tokens import mint_refresh_token

    forged = mint_refresh_token("alice", jti="not-recorded", family="none")
    expect(Unauthorized, "invalid_token", services.token_refresh, refresh_token=forged)


def limits(per_username: int, per_address: int):
    return override_settings(
        UCLOUD={
            **settings.UCLOUD,
            "LOGIN_FAILURES_PER_USERNAME": per_username,
            "LOGIN_FAILURES_PER_ADDRESS": per_address,
            "LOGIN_THROTTLE_WINDOW": 300,
        }
    )


def test_login_is_throttled_per_username_even_with_the_right_password(alice):
    with limits(per_username=3, per_address=100):
        for _ in range(3):
            expect(Unauthorized, "bad_credentials", login, password="wrong-password")
        error = expect(TooManyRequests, "throttled", login)
        assert (error.status, 0 < error.retry_after <= 300) == (429, True)
        # Other users are not affected.
        services.user_create(username="bob", password=PASSWORD, role="USER")
        login("bob")


def test_login_is_throttled_per_client_address(alice):
    with limits(per_username=100, per_address=2):
        for name in ("ghost1", "ghost2"):
            expect(Unauthorized, "bad_credentials", login, username=name, client_address="10.0.0.9")
        expect(TooManyRequests, "throttled", login, client_address="10.0.0.9")
        login(client_address="10.0.0.10")
        login()  # an in-process call without an address counts per username only


def test_a_successful_login_resets_the_username_count(alice):
    with limits(per_username=2, per_address=100):
        expect(Unauthorized, "bad_credentials", login, password="wrong-password")
        login()
        expect(Unauthorized, "bad_credentials", login, password="wrong-password")
        login()


def test_superuser_made_by_createsuperuser_is_admin(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "root")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "root@example.com")
    call_command("createsuperuser", interactive=False, verbosity=0)
    root = User.objects.get(username="root")
    assert root.role == "ADMIN"
    tokens = login("root")
    assert decode_access_token(tokens["access_token"]).role is Role.ADMIN


def test_superuser_is_admin_whatever_its_role_field(alice):
    alice.is_superuser = True
    alice.save()
    assert alice.role == "USER"
    assert services.user_info(alice) == {"username": "alice", "role": "ADMIN"}


def test_create_user_stores_a_hashed_password_and_role():
    user = services.user_create(username="bob", password=PASSWORD, role="ADMIN")
    user.refresh_from_db()
    assert user.role == "ADMIN"
    assert user.password != PASSWORD
    assert user.check_password(PASSWORD)


def test_create_existing_user_is_409(alice):
    error = expect(
        Conflict,
        "user_exists",
        services.user_create,
        username="alice",
        password=PASSWORD,
        role="USER",
    )
    assert error.status == 409


def test_weak_password_is_400_with_password_errors():
    error = expect(
        BadRequest,
        "invalid_request",
        services.user_create,
        username="bob",
        password="short",
        role="USER",
    )
    assert list(error.errors) == ["password"]
    assert "too short" in error.errors["password"][0]
    assert not User.objects.filter(username="bob").exists()


def test_retrieve_known_and_unknown_users(alice):
    assert services.user_retrieve(username="alice") == alice
    error = expect(NotFound, "unknown_user", services.user_retrieve, username="ghost")
    assert error.status == 404


def test_retrieve_inactive_user_is_404(alice):
    alice.is_active = False
    alice.save()
    expect(NotFound, "unknown_user", services.user_retrieve, username="alice")
