"""JWT bearer tokens: who is calling, who signed it, and whom it is for.

User tokens are minted by the auth service (accounts) with ``aud="ucloud"``
and are good at every service. SERVICE tokens name their caller
(``sub="_files"``, ``svc="files"``) and one target service (``aud``); a server
accepts them only for calls of that service::

    token = mint_access_token("alice", Role.USER)
    token = mint_service_token("files", audience="accounts")
    principal = decode_access_token(token, audiences={"accounts"})   # cached per token

A service acting for a SERVICE principal that called it presents a token of
its own that carries the caller's (``mint_forwarded_token``); the callee sees
the original principal, with the forwarding services in ``principal.via``.

Signing follows ``UCLOUD["KEYS_DIR"]``. With it, tokens are EdDSA-signed by
the private key of the service they come from (``ucloud.auth.keys``), and checked
with that service's public key, so that a service cannot speak for another.
Without it, every process shares one HMAC key (``SIGNING_KEY`` or
``SECRET_KEY``): same claims and checks, but no proof of which service signed.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

import jwt
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from ucloud import registry, serving
from ucloud.auth import keys
from ucloud.auth.principal import ALL_SCOPES, Principal
from ucloud.contracts.errors import Unauthorized
from ucloud.contracts.roles import Role
from ucloud.settings import ucloud_settings

ISSUER = "ucloud"
# The audience of user tokens: every service of the deployment.
USER_AUDIENCE = "ucloud"
ACCESS = "access"
REFRESH = "refresh"
KEY_ALGORITHM = "EdDSA"
_REQUIRED = ["exp", "iat", "sub", "typ", "aud"]
# Longest subject a token may carry: the audit trail keeps up to 200.
MAX_SUBJECT = 200
# Most services a principal may be forwarded through (tokens nest per hop).
MAX_FORWARDS = 4


def _signing_key(signer: str) -> tuple[Any, str, dict[str, str]]:
    """Key, algorithm and extra headers to sign as the service ``signer``."""
    if keys.keys_dir() is None:
        return _hmac_key(), ucloud_settings.JWT_ALGORITHM, {}
    # A process speaks only for the services it serves, even when the key
    # directory holds more private keys than it should.
    if not serving.is_served(signer):
        served = ", ".join(sorted(serving.served_services())) or "none"
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
    return serving.is_served(service) and keys.has_private_key(service)


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


def mint_refresh_token(username: str, *, jti: str, family: str) -> str:
    """A refresh token with the id and family the auth service recorded for it."""
    claims = {"sub": username, "typ": REFRESH, "aud": USER_AUDIENCE, "jti": jti, "fam": family}
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


def mint_forwarded_token(principal: Principal, *, forwarder: str, audience: str) -> str:
    """A SERVICE token of ``forwarder`` for ``audience``, acting for ``principal``.

    It carries the token ``principal`` presented to ``forwarder`` (claim
    ``obo``), so that the callee sees that principal and can check that it
    really called ``forwarder``. It expires with the carried token.
    """
    if principal.token is None:
        raise ValueError("Only a principal that presented a token can be forwarded")
    claims = {
        "sub": f"_{forwarder}",
        "svc": forwarder,
        "role": Role.SERVICE.value,
        "scopes": list(ALL_SCOPES),
        "typ": ACCESS,
        "aud": audience,
        "obo": principal.token,
    }
    return _mint(claims, ucloud_settings.SERVICE_TOKEN_LIFETIME, signer=forwarder)


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
    subject = claims["sub"]
    # Signed claims are trusted, not assumed well formed: a subject or scopes
    # of another shape went on to fail (500) where they were used.
    if not isinstance(subject, str) or not 0 < len(subject) <= MAX_SUBJECT or "\x00" in subject:
        raise _invalid(f"Token subject must be a name of 1 to {MAX_SUBJECT} characters")
    if role is Role.SERVICE and subject != f"_{claims.get('svc')}":
        raise _invalid("SERVICE token subject does not match its service")
    scopes = claims.get("scopes") or []
    if not isinstance(scopes, list) or not all(isinstance(scope, str) for scope in scopes):
        raise _invalid("Token scopes must be a list of strings")
    return Principal(subject, role, tuple(scopes), token=token, audience=str(claims["aud"]))


def _verify(token: str, depth: int = 0) -> tuple[Principal, float]:
    """The principal of ``token`` and when it expires, audience not checked.

    A forwarded token (``obo``) stands for the principal of the token it
    carries, which must have been given to the forwarding service: a service
    can only act for those who called it, and only while their token lives.
    """
    claims = _decode(token, ACCESS)
    principal = _principal(claims, token)
    expires = float(claims["exp"])
    carried = claims.get("obo")
    if carried is None:
        return principal, expires
    forwarder = principal.service
    if forwarder is None or not isinstance(carried, str):
        raise _invalid("Only a SERVICE token can carry a forwarded principal")
    if depth >= MAX_FORWARDS:
        raise _invalid(f"Principal forwarded more than {MAX_FORWARDS} times")
    acting, carried_expires = _verify(carried, depth + 1)
    if acting.role is not Role.SERVICE or acting.audience != forwarder:
        raise _invalid(f"{forwarder} forwards a token that was not given to it")
    forwarded = replace(
        acting, token=token, audience=principal.audience, via=(*acting.via, forwarder)
    )
    return forwarded, min(expires, carried_expires)


def _check_audience(principal: Principal, audiences: Collection[str]) -> None:
    audience = principal.audience
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


class _VerifiedTokens:
    """Principals of tokens checked before, until their tokens expire.

    Signature, issuer, type and claims are checked once per token; expiry
    and audience are checked on every use, so a cached token fails exactly
    as a fresh one would.
    """

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._entries: dict[str, tuple[Principal, float]] = {}
        # For changes only: evicting iterates, which another change would break.
        self._lock = threading.Lock()

    def principal(self, token: str) -> Principal:
        entry = self._entries.get(token)
        if entry is None:
            entry = _verify(token)
            with self._lock:
                if len(self._entries) >= self.size:
                    # Drop the oldest entry (dicts keep insertion order).
                    self._entries.pop(next(iter(self._entries)), None)
                self._entries[token] = entry
        principal, expires = entry
        if expires <= time.time():
            with self._lock:
                self._entries.pop(token, None)
            raise Unauthorized("Token has expired", error_code="token_expired")
        return principal

    def clear(self) -> None:
        self._entries.clear()


verified_tokens = _VerifiedTokens()


def decode_access_token(
    token: str, *, audiences: Collection[str] | None = None, verify_audience: bool = True
) -> Principal:
    """The principal of a valid access token; ``Unauthorized`` otherwise.

    A SERVICE token must be meant for one of ``audiences`` (default: the
    services this process serves); a user token for ``"ucloud"``. Only a
    client that passes a token on, never a server, skips the audience
    (``verify_audience=False``): the server it calls checks it.
    """
    principal = verified_tokens.principal(token)
    if verify_audience:
        _check_audience(principal, serving.served_services() if audiences is None else audiences)
    return principal


@dataclass(frozen=True)
class RefreshClaims:
    username: str
    # The token's id, and the family of tokens rotated from one login.
    jti: str
    family: str


def decode_refresh_token(token: str) -> RefreshClaims:
    """The claims of a validly signed, unexpired refresh token; ``Unauthorized`` otherwise.

    Whether it was rotated or revoked since is the auth service's business.
    """
    claims = _decode(token, REFRESH)
    if claims["aud"] != USER_AUDIENCE:
        raise Unauthorized("Refresh token has a wrong audience", error_code="wrong_audience")
    family = claims.get("fam")
    if not isinstance(family, str) or not isinstance(claims.get("jti"), str):
        raise _invalid("Refresh token has no id or family")
    return RefreshClaims(str(claims["sub"]), claims["jti"], family)


def _forget_cached_tokens(*, setting: str, **kwargs: Any) -> None:
    # Tokens were minted and checked with the old keys, secret or lifetimes.
    if setting in ("UCLOUD", "SECRET_KEY"):
        verified_tokens.clear()


setting_changed.connect(_forget_cached_tokens)
