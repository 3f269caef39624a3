"""Business logic of accounts: credentials, tokens and users.

Logins are throttled per username and per client address; refresh tokens
rotate on every use and are revoked by logout, a password change, a
deactivation, or the reuse of a rotated one (which revokes its family)::

    tokens = user_login(username="alice", password="...", client_address="10.0.0.7")
    tokens = token_refresh(refresh_token=tokens["refresh_token"])   # a new pair
    token_revoke(refresh_token=tokens["refresh_token"])             # logout
    user = user_create(username="bob", password="...", role="USER")
"""

from __future__ import annotations

import datetime
import uuid

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone
from django.utils.crypto import salted_hmac

from apps.accounts.models import RefreshToken, User
from ucloud.auth.throttling import Throttle
from ucloud.auth.tokens import (
    RefreshClaims,
    decode_refresh_token,
    mint_access_token,
    mint_refresh_token,
)
from ucloud.contracts.errors import BadRequest, Conflict, NotFound, Unauthorized
from ucloud.contracts.roles import Role
from ucloud.databases import atomic
from ucloud.settings import ucloud_settings


def _failures_by_username() -> Throttle:
    return Throttle(
        "accounts.login.username",
        ucloud_settings.LOGIN_FAILURES_PER_USERNAME,
        ucloud_settings.LOGIN_THROTTLE_WINDOW,
    )


def _failures_by_address() -> Throttle:
    return Throttle(
        "accounts.login.address",
        ucloud_settings.LOGIN_FAILURES_PER_ADDRESS,
        ucloud_settings.LOGIN_THROTTLE_WINDOW,
    )


def _password_fingerprint(user: User) -> str:
    return salted_hmac("apps.accounts.refresh", user.password, algorithm="sha256").hexdigest()


def _issue_tokens(user: User, *, family: str | None = None) -> dict[str, str]:
    """A new access token and a new refresh token (of ``family``, or a new one)."""
    jti, family = uuid.uuid4().hex, family or uuid.uuid4().hex
    lifetime = datetime.timedelta(seconds=ucloud_settings.REFRESH_TOKEN_LIFETIME)
    RefreshToken.objects.create(
        jti=jti,
        family=family,
        user=user,
        password_fingerprint=_password_fingerprint(user),
        expires_at=timezone.now() + lifetime,
    )
    return {
        "access_token": mint_access_token(user.username, Role(user.effective_role)),
        "refresh_token": mint_refresh_token(user.username, jti=jti, family=family),
    }


def _check_password(username: str, password: str, client_address: str | None) -> User:
    """The user with these credentials; 429 past the failures allowed, 401 when wrong."""
    by_username, by_address = _failures_by_username(), _failures_by_address()
    by_username.check(username)
    if client_address:
        by_address.check(client_address)
    user = authenticate(username=username, password=password)
    if not isinstance(user, User):
        by_username.hit(username)
        if client_address:
            by_address.hit(client_address)
        raise Unauthorized("Invalid username or password", error_code="bad_credentials")
    by_username.reset(username)
    return user


def user_login(
    *, username: str, password: str, client_address: str | None = None
) -> dict[str, str]:
    user = _check_password(username, password, client_address)
    with atomic("accounts"):
        return _issue_tokens(user)


def revoke_family(family: str) -> int:
    """Revoke every live token of a family; how many were."""
    live = RefreshToken.objects.filter(family=family, revoked_at__isnull=True)
    return live.update(revoked_at=timezone.now())


def revoke_user_tokens(user: User) -> int:
    """Revoke every live refresh token of ``user``; how many were."""
    live = RefreshToken.objects.filter(user=user, revoked_at__isnull=True)
    return live.update(revoked_at=timezone.now())


def _rotate(claims: RefreshClaims) -> dict[str, str] | Unauthorized:
    """The next pair of the token's family, or the refusal to raise once revocations commit."""
    row = (
        RefreshToken.objects.select_for_update()
        .select_related("user")
        .filter(jti=claims.jti, family=claims.family, user__username=claims.username)
        .first()
    )
    if row is None:
        return Unauthorized("Unknown refresh token", error_code="invalid_token")
    if row.revoked_at is not None:
        return Unauthorized("Refresh token was revoked", error_code="token_revoked")
    if row.used_at is not None:
        # Someone else holds a copy of this token: end the whole family.
        revoke_family(row.family)
        return Unauthorized(
            "Refresh token was used before; its family is revoked", error_code="token_reused"
        )
    user = row.user
    if not user.is_active or row.password_fingerprint != _password_fingerprint(user):
        revoke_user_tokens(user)
        return Unauthorized(
            "Refresh token no longer valid for its user", error_code="token_revoked"
        )
    row.used_at = timezone.now()
    row.save(update_fields=["used_at"])
    return _issue_tokens(user, family=row.family)


def token_refresh(*, refresh_token: str) -> dict[str, str]:
    """A new access and refresh token; the presented refresh token is used up."""
    claims = decode_refresh_token(refresh_token)
    with atomic("accounts"):
        result = _rotate(claims)
    # Raised after the commit, so that the revocations it caused persist.
    if isinstance(result, Unauthorized):
        raise result
    return result


def token_revoke(*, refresh_token: str) -> None:
    """Log out: the refresh token and every token of its family stop working."""
    claims = decode_refresh_token(refresh_token)
    with atomic("accounts"):
        revoke_family(claims.family)


def user_change_password(
    *, username: str, old_password: str, new_password: str, client_address: str | None = None
) -> None:
    """Set a new password; every refresh token of the user is revoked."""
    try:
        user = _check_password(username, old_password, client_address)
    except Unauthorized as exc:
        raise BadRequest(
            "Invalid request",
            error_code="invalid_request",
            errors={"old_password": ["Wrong password."]},
        ) from exc
    _validate_password(new_password, user, field="new_password")
    with atomic("accounts"):
        user.set_password(new_password)
        user.save(update_fields=["password"])
        revoke_user_tokens(user)


def user_deactivate(*, username: str) -> User:
    """Deactivate a user: no login, no refresh (access tokens live out their minutes)."""
    with atomic("accounts"):
        user = User.objects.select_for_update().filter(username=username).first()
        if user is None:
            raise NotFound(f"No user {username!r}", error_code="unknown_user")
        user.is_active = False
        user.save(update_fields=["is_active"])
        revoke_user_tokens(user)
    return user


def _validate_password(password: str, user: User, *, field: str = "password") -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise BadRequest(
            "Invalid request", error_code="invalid_request", errors={field: list(exc.messages)}
        ) from exc


def user_create(*, username: str, password: str, role: str) -> User:
    user = User(username=username, role=role)
    _validate_password(password, user)
    user.set_password(password)
    try:
        with atomic("accounts"):
            user.save()
    except IntegrityError as exc:
        raise Conflict(f"User {username!r} already exists", error_code="user_exists") from exc
    return user


def user_retrieve(*, username: str) -> User:
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise NotFound(f"No user {username!r}", error_code="unknown_user")
    return user


def user_info(user: User) -> dict[str, str]:
    return {"username": user.username, "role": user.effective_role}
