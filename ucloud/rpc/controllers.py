"""Server side of calls: ``Controller`` (a DRF ViewSet) and ``implement``.

Each implemented call is a method taking a ``CallContext``; it returns what
the response serializer renders::

    class FileController(Controller):
        @implement(FileDescriptions.create)
        def create(self, ctx: CallContext) -> File:
            return services.file_create(owner=ctx.principal.username, **ctx.request)
"""

from __future__ import annotations

from collections.abc import Callable
from types import MethodType
from typing import Any, ClassVar

from rest_framework.exceptions import MethodNotAllowed
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import ViewSet

from ucloud import observers
from ucloud.auth.authentication import BearerTokenAuthentication, client_address
from ucloud.auth.principal import GUEST, Principal
from ucloud.contracts.bindings import RequestSource
from ucloud.contracts.calls import CallDescription
from ucloud.rpc.client import RPCClient
from ucloud.rpc.error_mapping import exception_handler
from ucloud.rpc.implementations import implement as implement  # what a service's rpc.py imports
from ucloud.rpc.implementations import implemented_call, register
from ucloud.rpc.parsers import JSONParser
from ucloud.rpc.pipeline import Handler, execute, new_job_id
from ucloud.rpc.rendering import SafeJSONRenderer
from ucloud.rpc.request_data import query_request
from ucloud.rpc.schema import CallSchema


class Controller(ViewSet):
    """Base of every service's controllers; routes come from the descriptions."""

    authentication_classes = [BearerTokenAuthentication]
    permission_classes = ()  # the pipeline checks roles
    parser_classes = [JSONParser]
    renderer_classes = [SafeJSONRenderer]
    # OpenAPI operations come from the call bound to each route and method.
    schema = CallSchema()
    # HTTP method (lower case) -> call served on this route; set by ucloud.rpc.routes.
    ucloud_calls: ClassVar[dict[str, CallDescription]] = {}
    # call -> method name, for this controller class.
    ucloud_methods: ClassVar[dict[CallDescription, str]] = {}
    # Set once a request reaches the pipeline (observers count earlier refusals).
    _executing: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.ucloud_methods = dict(getattr(cls, "ucloud_methods", {}))
        for name, value in list(vars(cls).items()):
            call = implemented_call(value)
            if call is not None:
                cls.ucloud_methods[call] = name
                register(call, cls, name)

    def call_for(self, method: str | None) -> CallDescription | None:
        """The call served on this route for an HTTP method (HEAD runs GET's)."""
        method = (method or "").lower()
        # DRF dispatches HEAD to GET's action, so it must find GET's call too.
        if method == "head":
            method = "get"
        return self.ucloud_calls.get(method)

    def initialize_request(self, request: Any, *args: Any, **kwargs: Any) -> Request:
        drf_request = super().initialize_request(request, *args, **kwargs)
        call = self.call_for(drf_request.method)
        if call is not None:
            # Name the action after the implementing method, as DRF would.
            self.action = self.ucloud_methods.get(call, self.action)
        return drf_request

    def handler(self, call: CallDescription) -> Handler:
        """This instance's implementation of ``call``.

        Looked up on the class: DRF binds HTTP verbs as instance attributes,
        which would shadow an implementation named ``delete`` or ``get``.
        """
        method = getattr(type(self), self.ucloud_methods[call])
        return MethodType(method, self)

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response | None]:
        return exception_handler

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        # Refused before the pipeline (a bad token, a bad query string): the
        # observers count it, as the pipeline counts everything after.
        observer = observers.calls
        call = self.call_for(self.request.method if self.request else None)
        if observer is not None and call is not None and not self._executing:
            observer.refused(call, "remote", response.status_code)
        return response

    def serve_call(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        call = self.call_for(request.method)
        if call is None:
            raise MethodNotAllowed(str(request.method))
        if call.http.source is RequestSource.QUERY:
            data: Any = query_request(call.request, request.query_params)
        else:
            data = request.data
        user = request.user
        principal = user if isinstance(user, Principal) else GUEST
        # META, not request.headers: that builds a dict of every header.
        meta = request.META
        self._executing = True
        # The pipeline audits this request itself (ucloud.audit.middleware).
        request._request.ucloud_audited = True  # type: ignore[attr-defined]
        result = execute(
            call,
            data,
            principal,
            handler=self.handler(call),
            job_id=meta.get("HTTP_JOB_ID") or new_job_id(),
            caused_by=meta.get("HTTP_CAUSED_BY"),
            client_address=client_address(request),
            clients=RPCClient,
            transport="remote",
            user_agent=meta.get("HTTP_USER_AGENT"),
        )
        return Response(result, status=call.http.success_status)
