"""JWT bearer tokens: who is calling, who signed it, and whom it is for.

User tokens are minted by the auth service (accounts) with ``aud="ucloud"``
and are good at every service. SERVICE tokens name their caller
(``sub="_files"``, ``svc="files"``) and one target service (``aud``); a server
accepts them only for calls of that service::

    token = mint_access_token("alice", Role.USER)
    token = service_token("files", audience="accounts")   # cached, renewed at half-life
    principal = decode_access_token(token, audiences={"accounts"})

Signing follows ``UCLOUD["KEYS_DIR"]``. With it, tokens are EdDSA-signed by
the private key of the service they come from (``ucloud.keys``), and checked
with that service's public key, so that a service cannot speak for another.
Without it, every process shares one HMAC key (``SIGNING_KEY`` or
``SECRET_KEY``): same claims and checks, but no proof of which service signed.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Collection
from typing import Any

import jwt
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ucloud import keys, registry, topology
from ucloud.exceptions import Unauthorized
from ucloud.principal import ALL_SCOPES, Principal
from ucloud.roles import Role
from ucloud.settings import ucloud_settings

ISSUER = "ucloud"
# The audience of user tokens: every service of the deployment.
USER_AUDIENCE = "ucloud"
ACCESS = "access"
REFRESH = "refresh"
KEY_ALGORITHM = "EdDSA"
_REQUIRED = ["exp", "iat", "sub", "typ", "aud"]


def _signing_key(signer: str) -> tuple[Any, str, dict[str, str]]:
    """Key, algorithm and extra headers to sign as the service ``signer``."""
    if keys.keys_dir() is None:
        return _hmac_key(), ucloud_settings.JWT_ALGORITHM, {}
    # A process speaks only for the services it serves, even when the key
    # directory holds more private keys than it should.
    if not topology.is_served(signer):
        served = ", ".join(sorted(topology.served_services())) or "none"
        raise ImproperlyConfigured(
            f"This process serves {served}; it cannot sign tokens as {signer!r}"
        )
    return keys.private_key(signer), KEY_ALGORITHM, {"kid": signer}


def _hmac_key() -> str:
    return str(ucloud_settings.SIGNING_KEY or settings.SECRET_KEY)


def may_sign_as(service: str) -> bool:
    """True when this process can mint tokens on behalf of ``service``."""
    if keys.keys_dir() is None:
        return True
    return topology.is_served(service) and keys.has_private_key(service)


def _mint(claims: dict[str, Any], lifetime: int, *, signer: str) -> str:
    key, algorithm, headers = _signing_key(signer)
    now = int(time.time())
    payload = {"iss": ISSUER, "iat": now, "exp": now + lifetime, "jti": uuid.uuid4().hex}
    payload.update(claims)
    return jwt.encode(payload, key, algorithm=algorithm, headers=headers or None)


def mint_access_token(username: str, role: Role, scopes: tuple[str, ...] = ALL_SCOPES) -> str:
    """A user's access token, signed as the auth service, good at every service."""
    if role is Role.SERVICE:
        raise ValueError("SERVICE tokens name a caller and a target: use mint_service_token")
    claims = {
        "sub": username,
        "role": role.value,
        "scopes": list(scopes),
        "typ": ACCESS,
        "aud": USER_AUDIENCE,
    }
    return _mint(claims, ucloud_settings.ACCESS_TOKEN_LIFETIME, signer=ucloud_settings.AUTH_SERVICE)


def mint_refresh_token(username: str) -> str:
    claims = {"sub": username, "typ": REFRESH, "aud": USER_AUDIENCE}
    return _mint(
        claims, ucloud_settings.REFRESH_TOKEN_LIFETIME, signer=ucloud_settings.AUTH_SERVICE
    )


def mint_service_token(service: str, *, audience: str) -> str:
    """A fresh SERVICE token: ``service`` calling ``audience``, signed as ``service``."""
    claims = {
        "sub": f"_{service}",
        "svc": service,
        "role": Role.SERVICE.value,
        "scopes": list(ALL_SCOPES),
        "typ": ACCESS,
        "aud": audience,
    }
    return _mint(claims, ucloud_settings.SERVICE_TOKEN_LIFETIME, signer=service)


def _invalid(why: str) -> Unauthorized:
    return Unauthorized(why, error_code="invalid_token")


def _signer_of(token: str) -> str:
    """The service whose key must have signed ``token``, from what it claims.

    SERVICE tokens are signed by their calling service (``svc``), all others
    by the auth service. The signature is checked next, with that service's
    key: a claim the key does not back fails there.
    """
    try:
        unverified = jwt.decode_complete(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as exc:
        raise _invalid(f"Malformed token: {exc}") from exc
    header, claims = unverified["header"], unverified["payload"]
    signer: Any = ucloud_settings.AUTH_SERVICE
    if claims.get("role") == Role.SERVICE.value:
        signer = claims.get("svc")
        if not isinstance(signer, str) or signer not in registry.services():
            raise _invalid(f"SERVICE token names no known service (svc={signer!r})")
    kid = header.get("kid")
    if kid is not None and kid != signer:
        raise _invalid(f"Token key id {kid!r} does not match its signer {signer!r}")
    return str(signer)


def _verification_key(signer: str) -> tuple[Any, list[str]]:
    if keys.keys_dir() is None:
        return _hmac_key(), [ucloud_settings.JWT_ALGORITHM]
    key = keys.public_key(signer)
    if key is None:
        raise _invalid(f"No public key of {signer!r} here to check the token with")
    return key, [KEY_ALGORITHM]


def _decode(token: str, token_type: str) -> dict[str, Any]:
    signer = _signer_of(token)
    key, algorithms = _verification_key(signer)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            issuer=ISSUER,
            # The audience is checked by the caller, which knows what it serves.
            options={"require": _REQUIRED, "verify_aud": False},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("Token has expired", error_code="token_expired") from exc
    except jwt.InvalidSignatureError as exc:
        raise _invalid(f"Token signature does not match the key of {signer!r}") from exc
    except jwt.InvalidTokenError as exc:
        raise _invalid(f"Invalid token: {exc}") from exc
    if claims.get("typ") != token_type:
        raise _invalid(f"Not an {token_type} token")
    if not isinstance(claims.get("aud"), str):
        raise _invalid("Token audience must name one service or 'ucloud'")
    return claims


def _principal(claims: dict[str, Any], token: str) -> Principal:
    try:
        role = Role(claims["role"])
    except (KeyError, ValueError) as exc:
        raise _invalid("Token has no valid role") from exc
    if role is Role.GUEST:
        raise _invalid("A token cannot carry the GUEST role")
    if role is Role.SERVICE and claims["sub"] != f"_{claims.get('svc')}":
        raise _invalid("SERVICE token subject does not match its service")
    scopes = claims.get("scopes") or ()
    return Principal(str(claims["sub"]), role, tuple(scopes), token=token)


def _check_audience(principal: Principal, audience: str, audiences: Collection[str]) -> None:
    if principal.role is not Role.SERVICE:
        if audience != USER_AUDIENCE:
            raise Unauthorized(
                f"User token has audience {audience!r}, not {USER_AUDIENCE!r}",
                error_code="wrong_audience",
            )
        return
    if audience not in audiences:
        expected = ", ".join(sorted(audiences)) or "no service"
        raise Unauthorized(
            f"Token of {principal.service} is meant for {audience!r}, not for {expected}",
            error_code="wrong_audience",
        )


def decode_access_token(
    token: str, *, audiences: Collection[str] | None = None, verify_audience: bool = True
) -> Principal:
    """The principal of a valid access token; ``Unauthorized`` otherwise.

    A SERVICE token must be meant for one of ``audiences`` (default: the
    services this process serves); a user token for ``"ucloud"``. Only a
    client that passes a token on, never a server, skips the audience
    (``verify_audience=False``): the server it calls checks it.
    """
    claims = _decode(token, ACCESS)
    principal = _principal(claims, token)
    if verify_audience:
        if audiences is None:
            audiences = topology.served_services()
        _check_audience(principal, claims["aud"], audiences)
    return principal


def decode_refresh_token(token: str) -> str:
    """The username of a valid refresh token; ``Unauthorized`` otherwise."""
    claims = _decode(token, REFRESH)
    if claims["aud"] != USER_AUDIENCE:
        raise Unauthorized("Refresh token has a wrong audience", error_code="wrong_audience")
    return str(claims["sub"])


class _ServiceTokens:
    """One SERVICE token per (caller, audience), re-minted before it expires."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[float, str]] = {}

    def get(self, service: str, audience: str) -> str:
        now = time.monotonic()
        cached = self._cache.get((service, audience))
        if cached and cached[0] > now:
            return cached[1]
        with self._lock:
            token = mint_service_token(service, audience=audience)
            # Renew at half-life so that a token in flight never expires.
            lifetime = ucloud_settings.SERVICE_TOKEN_LIFETIME
            self._cache[(service, audience)] = (now + lifetime / 2, token)
            return token

    def clear(self) -> None:
        self._cache.clear()


service_tokens = _ServiceTokens()


def service_token(service: str, *, audience: str) -> str:
    """The token ``service`` presents when it calls ``audience`` over HTTP."""
    return service_tokens.get(service, audience)


def service_principal(service: str) -> Principal:
    """The SERVICE-role principal a service uses to call on its own behalf.

    It carries no token: in-process calls need none, and the HTTP transport
    mints one per target service (``service_token``).
    """
    return Principal(f"_{service}", Role.SERVICE, ALL_SCOPES)
