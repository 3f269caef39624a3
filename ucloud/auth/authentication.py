"""The callee's check of a caller: bearer token -> ``Principal``, on every transport.

``authenticate`` is the one check: signature, issuer, token type, expiry and
audience (the service owning the call), for the in-process transport and
for HTTP requests alike (``BearerTokenAuthentication`` is its DRF face, used
by every ``Controller``). No database is touched, and a token checked once
is remembered until it expires (``ucloud.auth.tokens``)::

    principal = authenticate(token, audiences={"files"})     # GUEST when token is None

``client_address`` is the address of the end client of an HTTP request,
believing ``X-Forwarded-For`` only from ``UCLOUD["TRUSTED_PROXIES"]``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from functools import lru_cache

from django.http import HttpRequest
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from ucloud import registry, serving
from ucloud.auth.principal import GUEST, Principal
from ucloud.auth.tokens import decode_access_token
from ucloud.contracts.errors import Unauthorized
from ucloud.settings import ucloud_settings


def authenticate(token: str | None, *, audiences: Collection[str]) -> Principal:
    """The principal presenting ``token`` to a service of ``audiences``.

    GUEST without a token; ``Unauthorized`` for a token that fails any check.
    """
    if token is None:
        return GUEST
    return decode_access_token(token, audiences=audiences)


def audiences_of(request: Request) -> Collection[str]:
    """The services a SERVICE token presented with ``request`` may be meant for.

    The service owning the call on this route when the view knows it (a
    ``Controller``), else every service this process serves.
    """
    view = (request.parser_context or {}).get("view")
    call_for = getattr(view, "call_for", None)
    call = call_for(request.method) if call_for is not None else None
    if call is not None:
        try:
            return {registry.service_of(call)}
        except LookupError:
            pass  # a call declared outside any service (kit tests, scripts)
    return serving.served_services()


class BearerTokenAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Principal, str] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("Malformed Authorization header", error_code="invalid_token")
        return authenticate(token, audiences=audiences_of(request)), token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


@lru_cache(maxsize=1)
def _networks(
    proxies: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _trusted(address: str) -> bool:
    proxies = tuple(ucloud_settings.TRUSTED_PROXIES or ())
    if not proxies:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(proxies))


def client_address(request: HttpRequest) -> str | None:
    """The end client's address: the peer, or what a trusted proxy says it forwarded.

    Walks ``X-Forwarded-For`` from the right, past every trusted proxy; the
    first address not trusted is the client (a client cannot forge the
    entries that trusted proxies appended after its own).
    """
    address = request.META.get("REMOTE_ADDR") or None
    if address is None or not _trusted(address):
        return address
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for hop in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
        address = hop
        if not _trusted(hop):
            break
    return address
