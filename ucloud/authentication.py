"""DRF authentication from ``Authorization: Bearer <jwt>`` into a ``Principal``.

Used by every ``Controller``; no database is touched::

    class MyView(APIView):
        authentication_classes = [BearerTokenAuthentication]
"""

from __future__ import annotations

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from ucloud.exceptions import Unauthorized
from ucloud.principal import Principal
from ucloud.tokens import decode_access_token


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
        return decode_access_token(token), token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
