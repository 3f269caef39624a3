"""The bare baseline: a minimal DRF ``APIView``, a PyJWT check and one row by key.

No kit code at all: what a team would write for "retrieve a file" with
Django, DRF and PyJWT alone, and the floor the kit's ``files.retrieve`` is
held against (``server_vs_bare_ratio``). It checks the token's signature,
expiry and audience, reads the ``File`` row by primary key and answers its
columns; it knows nothing of shares, roles or scopes::

    GET /bench/bare/files/retrieve?id=1      (Authorization: Bearer <user token>)

``retrieve_by_hand`` is the same work in process, for a caller that already
knows the user (``inprocess_vs_bare_ratio``).
"""

from __future__ import annotations

from typing import Any

import jwt
from django.conf import settings
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotFound, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.files.models import File

COLUMNS = ("id", "path", "size", "owner", "created_at")
# The audience of user tokens; a literal here, since the baseline may not
# import the kit.
AUDIENCE = "ucloud"


class BareUser:
    """What DRF needs of ``request.user``."""

    is_authenticated = True

    def __init__(self, username: str) -> None:
        self.username = username


class PyJWTAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[BareUser, str] | None:
        scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            claims = jwt.decode(token, settings.SECRET_KEY, algorithms=["HS256"], audience=AUDIENCE)
        except jwt.InvalidTokenError as exc:
            raise AuthenticationFailed(str(exc)) from exc
        return BareUser(claims["sub"]), token

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


def retrieve_by_hand(*, username: str, id: Any) -> dict[str, Any]:
    """The file's columns when ``username`` owns it; ``NotFound`` otherwise."""
    try:
        key = int(id)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"id": ["A valid integer is required."]}) from exc
    row = File.objects.filter(pk=key).values(*COLUMNS).first()
    if row is None or row["owner"] != username:
        raise NotFound()
    return row


class BareFileRetrieveView(APIView):
    authentication_classes = [PyJWTAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]

    def get(self, request: Request) -> Response:
        username = request.user.username
        return Response(retrieve_by_hand(username=username, id=request.query_params.get("id")))
