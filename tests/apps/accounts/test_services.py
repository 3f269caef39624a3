"""Business logic of accounts: credentials, tokens and users."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from apps.accounts import services
from apps.accounts.models import User
from ucloud.exceptions import BadRequest, Conflict, NotFound, RPCException, Unauthorized
from ucloud.roles import Role
from ucloud.tokens import decode_access_token, decode_refresh_token, mint_refresh_token

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


@pytest.fixture
def alice() -> User:
    return services.user_create(username="alice", password=PASSWORD, role="USER")


def expect(error: type[RPCException], code: str, function, **kwargs) -> RPCException:
    with pytest.raises(error) as info:
        function(**kwargs)
    assert info.value.error_code == code
    return info.value


def test_login_returns_tokens_for_the_user(alice):
    tokens = services.user_login(username="alice", password=PASSWORD)
    principal = decode_access_token(tokens["access_token"])
    assert (principal.username, principal.role) == ("alice", Role.USER)
    assert decode_refresh_token(tokens["refresh_token"]) == "alice"


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


def test_refresh_mints_a_new_access_token(alice):
    access = services.token_refresh(refresh_token=mint_refresh_token("alice"))["access_token"]
    assert decode_access_token(access).username == "alice"


def test_refresh_for_a_deactivated_user_is_401(alice):
    token = mint_refresh_token("alice")
    alice.is_active = False
    alice.save()
    expect(Unauthorized, "invalid_token", services.token_refresh, refresh_token=token)


def test_refresh_follows_a_role_change(alice):
    token = mint_refresh_token("alice")
    alice.role = "ADMIN"
    alice.save()
    access = services.token_refresh(refresh_token=token)["access_token"]
    assert decode_access_token(access).role is Role.ADMIN


def test_superuser_made_by_createsuperuser_is_admin(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "root")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "root@example.com")
    call_command("createsuperuser", interactive=False, verbosity=0)
    root = User.objects.get(username="root")
    assert root.role == "ADMIN"
    tokens = services.user_login(username="root", password=PASSWORD)
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
