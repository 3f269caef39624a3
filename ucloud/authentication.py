"""DRF authentication from ``Authorization: Bearer <jwt>`` into a ``Principal``.

Used by every ``Controller``; no database is touched. A SERVICE token is
accepted only for calls of the service it was minted for (its ``aud``), so a
token sent to one service cannot be replayed against another::

    class MyView(APIView):
        authentication_classes = [BearerTokenAuthentication]
"""

from __future__ import annotations

from collections.abc import Collection

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from ucloud import registry, topology
from ucloud.exceptions import Unauthorized
from ucloud.principal import Principal
from ucloud.tokens import decode_access_token


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
    return topology.served_services()


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
        return decode_access_token(token, audiences=audiences_of(request)), token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
