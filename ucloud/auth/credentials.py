"""What a caller presents: the bearer token a principal shows to a target service.

Every transport asks ``bearer_token`` and the callee checks what it gets
the same way (``ucloud.auth.authentication.authenticate``), so a call is judged
identically in one process and over HTTP::

    bearer_token(alice, "files")                    # her own token, good everywhere
    bearer_token(service_principal("files"), "accounts")   # files' token for accounts
    bearer_token(caller, "accounts", forwarded_by="notifications")

A SERVICE principal that called this process holds a token meant for the
service it called. Passed on by that service (``ctx.client``), it goes as a
fresh token of the forwarding service that carries the caller's token
(``mint_forwarded_token``); anywhere else it goes as it is, and a callee
other than its audience refuses it (``wrong_audience``).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.core.signals import setting_changed

from ucloud.auth.principal import ALL_SCOPES, Principal
from ucloud.auth.tokens import mint_forwarded_token, mint_service_token
from ucloud.contracts.roles import Role
from ucloud.settings import ucloud_settings


class _MintedTokens:
    """Tokens this process minted, by what they were minted for, until half-life.

    Renewing at half-life means a token in flight never expires; the cache
    is bounded because forwarded tokens are keyed by the caller's token.
    """

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, ...], tuple[float, str]] = {}

    def get(self, key: tuple[str, ...], mint: Any, lifetime: float) -> str:
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached and cached[0] > now:
            return cached[1]
        with self._lock:
            token: str = mint()
            if len(self._cache) >= self.size:
                self._cache.pop(next(iter(self._cache)), None)
            self._cache[key] = (now + lifetime / 2, token)
            return token

    def clear(self) -> None:
        self._cache.clear()


service_tokens = _MintedTokens()
forwarded_tokens = _MintedTokens()


def service_token(service: str, *, audience: str) -> str:
    """The token ``service`` presents when it calls ``audience`` on its own behalf."""
    return service_tokens.get(
        (service, audience),
        lambda: mint_service_token(service, audience=audience),
        ucloud_settings.SERVICE_TOKEN_LIFETIME,
    )


def forwarded_token(principal: Principal, *, forwarder: str, audience: str) -> str:
    """The token ``forwarder`` presents to ``audience`` when acting for ``principal``."""
    token = principal.token
    if token is None:
        raise ValueError("Only a principal that presented a token can be forwarded")
    return forwarded_tokens.get(
        (token, forwarder, audience),
        lambda: mint_forwarded_token(principal, forwarder=forwarder, audience=audience),
        ucloud_settings.SERVICE_TOKEN_LIFETIME,
    )


def service_principal(service: str) -> Principal:
    """The SERVICE-role principal a service uses to call on its own behalf.

    It carries no token: each call presents one minted for its target
    (``service_token``).
    """
    return Principal(f"_{service}", Role.SERVICE, ALL_SCOPES)


def bearer_token(
    principal: Principal, audience: str, *, forwarded_by: str | None = None
) -> str | None:
    """The token ``principal`` presents to the service ``audience`` (None: a guest).

    ``forwarded_by`` names the service passing on a principal that called it.
    """
    token = principal.token
    if token is None:
        service = principal.service
        return None if service is None else service_token(service, audience=audience)
    # User tokens are good at every service; a SERVICE token at its audience.
    if principal.role is not Role.SERVICE or principal.audience == audience:
        return token
    if forwarded_by is not None and forwarded_by == principal.audience:
        return forwarded_token(principal, forwarder=forwarded_by, audience=audience)
    return token


def _forget_minted_tokens(*, setting: str, **kwargs: Any) -> None:
    # They were signed with the old keys or secret, for the old lifetimes.
    if setting in ("UCLOUD", "SECRET_KEY"):
        service_tokens.clear()
        forwarded_tokens.clear()


setting_changed.connect(_forget_minted_tokens)
