"""JWT bearer tokens, minted and validated locally by every service.

Processes that share the signing key (``UCLOUD["SIGNING_KEY"]`` or
``SECRET_KEY``) accept each other's tokens::

    token = mint_access_token("alice", Role.USER)
    principal = decode_access_token(token)     # Principal("alice", USER)
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import jwt
from django.conf import settings

from ucloud.exceptions import Unauthorized
from ucloud.principal import ALL_SCOPES, Principal
from ucloud.roles import Role
from ucloud.settings import ucloud_settings

ISSUER = "ucloud"
ACCESS = "access"
REFRESH = "refresh"


def _key() -> str:
    return str(ucloud_settings.SIGNING_KEY or settings.SECRET_KEY)


def _mint(claims: dict[str, Any], lifetime: int) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "iat": now, "exp": now + lifetime, **claims}
    return jwt.encode(payload, _key(), algorithm=ucloud_settings.JWT_ALGORITHM)


def _decode(token: str, token_type: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            _key(),
            algorithms=[ucloud_settings.JWT_ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "typ"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("Token has expired", error_code="token_expired") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized("Invalid token", error_code="invalid_token") from exc
    if claims.get("typ") != token_type:
        raise Unauthorized(f"Not an {token_type} token", error_code="invalid_token")
    return claims


def mint_access_token(username: str, role: Role, scopes: tuple[str, ...] = ALL_SCOPES) -> str:
    claims = {"sub": username, "role": role.value, "scopes": list(scopes), "typ": ACCESS}
    return _mint(claims, ucloud_settings.ACCESS_TOKEN_LIFETIME)


def mint_refresh_token(username: str) -> str:
    claims = {"sub": username, "typ": REFRESH, "jti": uuid.uuid4().hex}
    return _mint(claims, ucloud_settings.REFRESH_TOKEN_LIFETIME)


def decode_access_token(token: str) -> Principal:
    """The principal of a valid access token; ``Unauthorized`` otherwise."""
    claims = _decode(token, ACCESS)
    try:
        role = Role(claims["role"])
    except (KeyError, ValueError) as exc:
        raise Unauthorized("Invalid token", error_code="invalid_token") from exc
    if role is Role.GUEST:
        raise Unauthorized("Invalid token", error_code="invalid_token")
    scopes = claims.get("scopes") or ()
    return Principal(str(claims["sub"]), role, tuple(scopes), token=token)


def decode_refresh_token(token: str) -> str:
    """The username of a valid refresh token; ``Unauthorized`` otherwise."""
    return str(_decode(token, REFRESH)["sub"])


class _ServicePrincipals:
    """One SERVICE principal per service name, re-minted before it expires."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Principal]] = {}

    def get(self, service: str) -> Principal:
        now = time.monotonic()
        cached = self._cache.get(service)
        if cached and cached[0] > now:
            return cached[1]
        with self._lock:
            lifetime = ucloud_settings.SERVICE_TOKEN_LIFETIME
            username = f"_{service}"
            token = _mint(
                {
                    "sub": username,
                    "role": Role.SERVICE.value,
                    "scopes": list(ALL_SCOPES),
                    "typ": ACCESS,
                },
                lifetime,
            )
            principal = Principal(username, Role.SERVICE, ALL_SCOPES, token=token)
            # Renew at half-life so that a token in flight never expires.
            self._cache[service] = (now + lifetime / 2, principal)
            return principal

    def clear(self) -> None:
        self._cache.clear()


service_principals = _ServicePrincipals()


def service_principal(service: str) -> Principal:
    """The SERVICE-role principal a service uses to call on its own behalf."""
    return service_principals.get(service)
