"""OpenAPI documents of calls: drf-spectacular reads each route's ``CallDescription``.

``Controller`` declares ``schema = CallSchema()``; every operation of
``GET /api/schema/`` (and the Swagger UI at ``/api/docs/``) then comes from
the call bound to that route and HTTP method::

    python manage.py spectacular --validate --fail-on-warn --file openapi.yaml
    # POST /api/files -> operationId "files.create", tags ["files"], x-ucloud-roles ...

Request bodies and query parameters come from the request serializer,
responses from the response serializer plus one response per error status
the call may answer (``ucloud.contracts.declared_errors``: the declared errors and the
implied 400, 401, 403), each with the kit's error body (``RPCError``) and a
description listing its error codes (also ``x-ucloud-errors``); roles, access,
scope, audit and the services allowed to call (``x-ucloud-callers``, when
restricted) are vendor extensions
(``x-ucloud-*``) and are repeated in the description for readers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import (
    build_bearer_security_scheme_object,
    build_media_type_object,
    force_instance,
)
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from ucloud import registry
from ucloud.contracts.bindings import RequestSource
from ucloud.contracts.calls import CallDescription
from ucloud.contracts.declared_errors import answerable_errors
from ucloud.contracts.errors import DeclaredError
from ucloud.contracts.roles import Role

if TYPE_CHECKING:
    from ucloud.rpc.controllers import Controller

BEARER_SCHEME = "bearerAuth"

# A response without fields is still a JSON object (``{}``) on the wire;
# drf-spectacular would drop it as "no body", so it is described inline.
EMPTY_OBJECT: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "An empty JSON object.",
}


class RPCError(serializers.Serializer):
    """The body of every failed call, whatever its status: why it failed, and a code."""

    why = serializers.CharField(help_text="What went wrong, for people.")
    error_code = serializers.CharField(
        help_text="What went wrong, for programs (e.g. `invalid_request`, `not_found`)."
    )
    # DRF's metaclass moves declared fields off the class, so this field does
    # not shadow ``Serializer.errors`` at run time; only the stubs think it does.
    errors = serializers.JSONField(  # type: ignore[assignment]
        required=False,
        help_text="Field errors of a rejected request, keyed like the request.",
    )


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Documents ``BearerTokenAuthentication``: ``Authorization: Bearer <jwt>``."""

    target_class = "ucloud.auth.authentication.BearerTokenAuthentication"
    match_subclasses = True
    name = BEARER_SCHEME

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        scheme = build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.keyword, bearer_format="JWT"
        )
        scheme["description"] = (
            "An access token minted by ucloud.auth.tokens (e.g. by a login call)."
        )
        return scheme


# Text DRF refuses whatever its length: a NUL character anywhere; with
# ``trim_whitespace``, a value of only whitespace (it is blank once trimmed).
# Python's ``\s`` is exactly what ``str.strip`` removes.
ANY_TEXT = r"^[^\u0000]*$"
TEXT_WITH_CONTENT = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"


def document_request_limits(field: serializers.Field, schema: dict[str, Any]) -> None:
    """Add to a request field's schema what its validation enforces and
    drf-spectacular leaves out, so that every request the document allows is
    accepted: non-blank text, no NUL characters, non-empty lists."""
    if isinstance(field, serializers.CharField) and schema.get("type") == "string":
        if not field.allow_blank:
            schema["minLength"] = max(schema.get("minLength", 0), 1)
        if "pattern" not in schema and "format" not in schema:
            content = field.trim_whitespace and not field.allow_blank
            schema["pattern"] = TEXT_WITH_CONTENT if content else ANY_TEXT
    elif isinstance(field, serializers.ListField) and not field.allow_empty:
        schema["minItems"] = max(schema.get("minItems", 0), 1)


def role_names(roles: frozenset[Role]) -> list[str]:
    """Role names in declaration order (GUEST, USER, ADMIN, SERVICE), for stable output."""
    return [role.value for role in Role if role in roles]


def _describe(errors: list[DeclaredError]) -> str:
    """One line per error code the status stands for, as Markdown."""
    return "\n".join(f"- `{error.error_code}`: {error.description}" for error in errors)


def _camel(label: str) -> str:
    return "".join(part.capitalize() for part in label.replace(".", "_").split("_"))


class CallSchema(AutoSchema):
    """The OpenAPI operation of the call bound to a ``Controller`` route and method."""

    @property
    def call(self) -> CallDescription:
        view = cast("Controller", self.view)
        return view.ucloud_calls[self.method.lower()]

    def is_excluded(self) -> bool:
        # A controller mounted by hand, outside ucloud.rpc.routes, has no call to describe.
        return self.method.lower() not in getattr(self.view, "ucloud_calls", {})

    def get_operation_id(self) -> str:
        return self.call.full_name

    def get_summary(self) -> str | None:
        return self.call.summary or None

    def get_description(self) -> str:  # type: ignore[override]  # as AutoSchema does
        call = self.call
        access = f"**Roles:** {', '.join(role_names(call.roles))}"
        if Role.GUEST in call.roles:
            access += " (no token needed)"
        if call.callers is not None:
            access += f" (services: {', '.join(sorted(call.callers))} only)"
        access += f". **Scope:** `{call.scope}`."
        if call.audit:
            access += " Audited."
        return "\n\n".join(part for part in (call.description, access) if part)

    def get_tags(self) -> list[str]:
        return [self.call.namespace]

    def get_extensions(self) -> dict[str, Any]:
        call = self.call
        extensions: dict[str, Any] = {
            "x-ucloud-call": call.full_name,
            "x-ucloud-roles": role_names(call.roles),
            "x-ucloud-access": call.access.value,
            "x-ucloud-scope": call.scope,
            "x-ucloud-audit": call.audit,
        }
        if call.callers is not None:
            extensions["x-ucloud-callers"] = sorted(call.callers)
        extensions["x-ucloud-errors"] = [
            {"status": e.status, "error_code": e.error_code, "description": e.description}
            for e in answerable_errors(call)
        ]
        return extensions

    def get_override_parameters(self) -> list[Any]:
        # drf-spectacular turns a serializer given here into one query
        # parameter per field (type, required, help_text as description); it
        # cannot take one without fields (``Empty``), which has no parameters.
        request = self.call.request
        if self.call.http.source is RequestSource.QUERY and request().fields:
            return [request]
        return []

    def get_request_serializer(self) -> Any:
        if self.call.http.source is RequestSource.BODY:
            return self.call.request
        return None

    def _get_request_body(self, direction: str = "request") -> dict[str, Any] | None:
        # The base class documents bodies for PUT/PATCH/POST only; a call bound
        # to DELETE (files.delete) still reads its request from a JSON body.
        serializer = self.get_request_serializer()
        if serializer is None:
            return None
        schema, required = self._get_request_for_media_type(serializer, direction)
        if schema is None:
            return None  # no fields: nothing to send
        body: dict[str, Any] = {
            "content": {
                media_type: build_media_type_object(schema) for media_type in self.map_parsers()
            }
        }
        if required:
            body["required"] = True
        return body

    def get_response_serializers(self) -> Any:
        # A status -> response mapping, which the base class accepts like
        # @extend_schema(responses={...}); hence ``Any`` rather than a serializer.
        call = self.call
        success: Any = EMPTY_OBJECT if not call.response().fields else call.response
        responses: dict[int, OpenApiResponse] = {
            call.http.success_status: OpenApiResponse(success, description="Success."),
        }
        by_status: dict[int, list[DeclaredError]] = {}
        for error in answerable_errors(call):
            by_status.setdefault(error.status, []).append(error)
        for status, errors in sorted(by_status.items()):
            responses[status] = OpenApiResponse(RPCError, description=_describe(errors))
        return responses

    def get_auth(self) -> list[dict[str, Any]]:
        roles = self.call.roles
        if not roles - {Role.GUEST}:
            return [{}]  # guests only: a token would only be refused
        auth = super().get_auth()
        if Role.GUEST in roles:
            auth.append({})  # the empty requirement: callable without a token
        return auth

    def _map_basic_serializer(self, serializer: Any, direction: str) -> dict[str, Any]:
        # After the base class has turned the fields' validators into limits.
        schema: dict[str, Any] = super()._map_basic_serializer(serializer, direction)
        if direction != "request":
            return schema
        instance = force_instance(serializer)
        for field in instance.fields.values():
            field_schema = schema["properties"].get(field.field_name)
            if field_schema is not None:
                document_request_limits(field, field_schema)
        if type(instance) is self.call.request and instance.fields:
            # The pipeline refuses a body field the request does not declare
            # (a request without fields stays "no body" in the document).
            schema["additionalProperties"] = False
        return schema

    def get_serializer_name(self, serializer: serializers.Serializer, direction: str) -> str:
        """Component name, prefixed by the owning service (``FilesFile``).

        Two services may each declare a ``File`` (and so a ``PageOfFile``);
        the prefix keeps their components apart, and depends only on where a
        serializer is declared, so names stay stable as services come and go.
        Serializers of the kit itself (``Empty``, ``BrowseRequest``,
        ``RPCError``) keep their class names.
        """
        cls = type(serializer)
        try:
            service = registry.service_of_module(cls.__module__)
        except LookupError:
            return cls.__name__
        return _camel(service) + cls.__name__
