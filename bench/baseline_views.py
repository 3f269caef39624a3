"""The baseline: plain DRF ``APIView``s doing what the kit's files endpoints do.

Same serializers, same service functions, same JWT authentication as
``FileDescriptions.retrieve`` and ``.create``, written the way a team would
without the kit. Served only by the benchmark (``bench.baseline_urls``)::

    GET  /bench/plain/files/retrieve?id=1     like GET  /api/files/retrieve?id=1
    POST /bench/plain/files {"path", "size"}  like POST /api/files
"""

from __future__ import annotations

from typing import Any

from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.files import services
from apps.files.api import CreateFileRequest, File, FileIdRequest
from ucloud.auth.authentication import BearerTokenAuthentication


class PlainFileView(APIView):
    """JWT-authenticated JSON view; subclasses add one HTTP method each."""

    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]


class PlainFileRetrieveView(PlainFileView):
    def get(self, request: Request) -> Response:
        serializer = FileIdRequest(data=request.query_params.dict())
        serializer.is_valid(raise_exception=True)
        data: Any = services.file_retrieve(
            username=request.user.username, **serializer.validated_data
        )
        return Response(File(data).data)


class PlainFileCreateView(PlainFileView):
    def post(self, request: Request) -> Response:
        serializer = CreateFileRequest(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: Any = services.file_create(owner=request.user.username, **serializer.validated_data)
        return Response(File(data).data)
