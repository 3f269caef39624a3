"""The accounts contract: login, tokens, logout, whoami and user management.

Other services import only this module::

    from apps.accounts.api import AccountDescriptions
    AccountDescriptions.retrieve_user.call({"username": "bob"}, ctx.service_client)
"""

from __future__ import annotations

from rest_framework import serializers

from ucloud.contracts.bindings import (
    HttpBinding,
    RequestSource,
    http_create,
    http_retrieve,
    http_update,
)
from ucloud.contracts.calls import CallDescriptionContainer, Empty, call
from ucloud.contracts.errors import Conflict, NotFound, TooManyRequests, Unauthorized
from ucloud.contracts.roles import Access, Roles

ROLES = ("USER", "ADMIN")


class LoginRequest(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)


class TokenPair(serializers.Serializer):
    access_token = serializers.CharField()
    refresh_token = serializers.CharField()


class RefreshRequest(serializers.Serializer):
    refresh_token = serializers.CharField()


class ChangePasswordRequest(serializers.Serializer):
    old_password = serializers.CharField(max_length=4096, trim_whitespace=False)
    new_password = serializers.CharField(max_length=4096, trim_whitespace=False)


class UserInfo(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.CharField()


# What the password validators of the project (AUTH_PASSWORD_VALIDATORS) ask
# for, stated in the contract so that callers and the OpenAPI document know.
MIN_PASSWORD_LENGTH = 8


class CreateUserRequest(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    password = serializers.CharField(
        min_length=MIN_PASSWORD_LENGTH, max_length=4096, trim_whitespace=False
    )
    role = serializers.ChoiceField(choices=ROLES, default="USER")


class RetrieveUserRequest(serializers.Serializer):
    username = serializers.CharField(max_length=150)


# What presenting a refresh token can be refused with (refresh, logout).
REFRESH_ERRORS = (
    Unauthorized.declare(
        "invalid_token",
        "The refresh token is malformed, not signed by us, unknown, or its user no longer exists.",
    ),
    Unauthorized.declare("token_expired", "The refresh token has expired."),
    Unauthorized.declare("wrong_audience", "The token is not a refresh token."),
    Unauthorized.declare("token_revoked", "The refresh token was revoked (logout, password)."),
    Unauthorized.declare(
        "token_reused", "The refresh token was used before; its whole family is now revoked."
    ),
)


class AccountDescriptions(CallDescriptionContainer):
    namespace = "accounts"

    login = call(
        request=LoginRequest,
        response=TokenPair,
        roles=Roles.PUBLIC,
        access=Access.READ_WRITE,
        http=http_update("login"),
        audit=True,
        summary="Log in with a username and password",
        description="Returns an access token and a refresh token.",
        errors=(
            Unauthorized.declare(
                "bad_credentials", "Unknown username, wrong password or an inactive user."
            ),
            TooManyRequests.declare(
                "throttled",
                "Too many failed logins for the username or the client address; "
                "retry after the Retry-After header's seconds.",
            ),
        ),
    )
    refresh = call(
        request=RefreshRequest,
        response=TokenPair,
        roles=Roles.PUBLIC,
        access=Access.READ_WRITE,
        http=http_update("refresh"),
        summary="Exchange a refresh token for a new access token and refresh token",
        description="The refresh token is used up.",
        errors=REFRESH_ERRORS,
    )
    logout = call(
        request=RefreshRequest,
        response=Empty,
        roles=Roles.PUBLIC,
        access=Access.READ_WRITE,
        http=http_update("logout"),
        audit=True,
        summary="Revoke a refresh token and every token rotated from the same login",
        errors=REFRESH_ERRORS,
    )
    change_password = call(
        request=ChangePasswordRequest,
        response=Empty,
        roles=Roles.END_USER,
        access=Access.READ_WRITE,
        http=http_update("password"),
        audit=True,
        summary="Change the caller's password; revokes all of the caller's refresh tokens",
        errors=(
            TooManyRequests.declare(
                "throttled",
                "Too many wrong passwords for the username or the client address (they "
                "count as failed logins); retry after the Retry-After header's seconds.",
            ),
        ),
    )
    whoami = call(
        request=Empty,
        response=UserInfo,
        roles=Roles.AUTHENTICATED,
        access=Access.READ,
        http=HttpBinding("GET", "whoami", RequestSource.QUERY),
        summary="The caller's username and role",
    )
    create_user = call(
        request=CreateUserRequest,
        response=UserInfo,
        roles=Roles.ADMIN,
        access=Access.READ_WRITE,
        http=http_create("users"),
        audit=True,
        summary="Create a user (ADMIN only)",
        errors=(Conflict.declare("user_exists", "A user with that username exists."),),
    )
    deactivate_user = call(
        request=RetrieveUserRequest,
        response=UserInfo,
        roles=Roles.ADMIN,
        access=Access.READ_WRITE,
        http=http_update("users/deactivate"),
        audit=True,
        summary="Deactivate a user (ADMIN only); revokes all of the user's refresh tokens",
        errors=(NotFound.declare("unknown_user", "No user with that username."),),
    )
    retrieve_user = call(
        request=RetrieveUserRequest,
        response=UserInfo,
        roles=Roles.PRIVILEGED,
        # Of the services, only files needs it (to check whom a file is shared with).
        callers=("files",),
        access=Access.READ,
        http=http_retrieve("users/retrieve"),
        summary="Look up a user by username (ADMIN and the files service)",
        errors=(NotFound.declare("unknown_user", "No active user with that username."),),
    )
