"""Business logic of accounts: credentials, tokens and users.

tokens = user_login(username="alice", password="...")
user = user_create(username="bob", password="...", role="USER")
"""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from apps.accounts.models import User
from ucloud.databases import atomic
from ucloud.exceptions import BadRequest, Conflict, NotFound, Unauthorized
from ucloud.roles import Role
from ucloud.tokens import decode_refresh_token, mint_access_token, mint_refresh_token


def _access_token(user: User) -> str:
    return mint_access_token(user.username, Role(user.effective_role))


def user_login(*, username: str, password: str) -> dict[str, str]:
    user = authenticate(username=username, password=password)
    if not isinstance(user, User):
        raise Unauthorized("Invalid username or password", error_code="bad_credentials")
    return {"access_token": _access_token(user), "refresh_token": mint_refresh_token(user.username)}


def token_refresh(*, refresh_token: str) -> dict[str, str]:
    username = decode_refresh_token(refresh_token)
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise Unauthorized("The user of this token no longer exists", error_code="invalid_token")
    return {"access_token": _access_token(user)}


def user_create(*, username: str, password: str, role: str) -> User:
    user = User(username=username, role=role)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise BadRequest(
            "Invalid request", error_code="invalid_request", errors={"password": list(exc.messages)}
        ) from exc
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
