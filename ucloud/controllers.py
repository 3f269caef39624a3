"""Server side of calls: ``Controller`` (a DRF ViewSet) and ``implement``.

Each implemented call is a method taking a ``CallContext``; it returns what
the response serializer renders::

    class FileController(Controller):
        @implement(FileDescriptions.create)
        def create(self, ctx: CallContext) -> File:
            return services.file_create(owner=ctx.principal.username, **ctx.request)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from types import MethodType
from typing import Any, ClassVar, TypeVar

from rest_framework.exceptions import MethodNotAllowed
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import ViewSet

from ucloud.authentication import BearerTokenAuthentication, client_address
from ucloud.bindings import RequestSource
from ucloud.calls import CallDescription
from ucloud.errors import exception_handler
from ucloud.parsers import JSONParser
from ucloud.pipeline import Handler, execute, new_job_id
from ucloud.principal import GUEST, Principal
from ucloud.request_data import query_request
from ucloud.schema import CallSchema

F = TypeVar("F", bound=Callable[..., Any])

_IMPLEMENTS = "_ucloud_implements"

# call -> every (controller, method name) implementing it; more than one is a
# system check error (ucloud.E001).
_implementations: dict[CallDescription, list[tuple[type[Controller], str]]] = defaultdict(list)


def implement(call: CallDescription) -> Callable[[F], F]:
    """Mark a controller method as the implementation of ``call``."""

    def mark(method: F) -> F:
        setattr(method, _IMPLEMENTS, call)
        return method

    return mark


def implementations() -> dict[CallDescription, list[tuple[type[Controller], str]]]:
    return {call: list(impls) for call, impls in _implementations.items()}


def handler_for(call: CallDescription) -> Handler:
    """A bound handler for ``call`` on a fresh controller instance."""
    impls = _implementations.get(call)
    if not impls:
        from ucloud.exceptions import NotFound

        raise NotFound(f"{call.full_name} is not implemented", error_code="not_implemented")
    controller = impls[0][0]
    return controller().handler(call)


class Controller(ViewSet):
    """Base of every service's controllers; routes come from the descriptions."""

    authentication_classes = [BearerTokenAuthentication]
    permission_classes = ()  # the pipeline checks roles
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]
    # OpenAPI operations come from the call bound to each route and method.
    schema = CallSchema()
    # HTTP method (lower case) -> call served on this route; set by ucloud.routes.
    ucloud_calls: ClassVar[dict[str, CallDescription]] = {}
    # call -> method name, for this controller class.
    ucloud_methods: ClassVar[dict[CallDescription, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.ucloud_methods = dict(getattr(cls, "ucloud_methods", {}))
        for name, value in list(vars(cls).items()):
            call = getattr(value, _IMPLEMENTS, None)
            if isinstance(call, CallDescription):
                cls.ucloud_methods[call] = name
                _implementations[call].append((cls, name))

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
        headers = request.headers
        # The pipeline audits this request itself (ucloud.audit.middleware).
        request._request.ucloud_audited = True  # type: ignore[attr-defined]
        result = execute(
            call,
            data,
            principal,
            handler=self.handler(call),
            job_id=headers.get("Job-Id") or new_job_id(),
            caused_by=headers.get("Caused-By"),
            client_address=client_address(request),
            user_agent=headers.get("User-Agent"),
        )
        return Response(result, status=call.http.success_status)
