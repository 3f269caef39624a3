"""``Controller`` and ``implement``: how a request becomes a ``CallContext``.

A test-only contract and controller are declared per test (the kit
registries are restored afterwards) and served through ``as_view``, the
way ``ucloud.rpc.routes`` builds views.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from apps.files.api import FileDescriptions
from apps.files.rpc import FileController
from ucloud.auth.tokens import mint_access_token
from ucloud.contracts.bindings import HttpBinding, RequestSource, http_create, http_retrieve
from ucloud.contracts.calls import CallDescriptionContainer, Empty, call
from ucloud.contracts.errors import NotFound
from ucloud.contracts.roles import Role
from ucloud.rpc.context import CallContext
from ucloud.rpc.controllers import Controller, implement
from ucloud.rpc.implementations import handler_for, implementations

factory = APIRequestFactory()


class EchoRequest(serializers.Serializer):
    name = serializers.CharField(required=False, default="")


class EchoResponse(serializers.Serializer):
    name = serializers.CharField(allow_blank=True)
    username = serializers.CharField(allow_blank=True)
    job_id = serializers.CharField()
    caused_by = serializers.CharField(allow_null=True)


@pytest.fixture
def echo(kit_registries):
    """A contract with a GET and a POST call on one path, and its controller."""

    class EchoDescriptions(CallDescriptionContainer):
        namespace = "echo"
        look = call(request=EchoRequest, response=EchoResponse, http=http_retrieve("x"))
        send = call(
            request=EchoRequest,
            response=EchoResponse,
            http=HttpBinding("POST", "x", RequestSource.BODY, success_status=201),
        )
        unimplemented = call(request=Empty, response=Empty, http=http_create("none"))

    class EchoController(Controller):
        def _echo(self, ctx: CallContext) -> dict[str, Any]:
            return {
                "name": ctx.request["name"],
                "username": ctx.principal.username,
                "job_id": ctx.job_id,
                "caused_by": ctx.caused_by,
            }

        @implement(EchoDescriptions.look)
        def get(self, ctx: CallContext) -> dict[str, Any]:
            # Named like an HTTP verb on purpose: it must not shadow dispatch.
            return self._echo(ctx)

        @implement(EchoDescriptions.send)
        def send(self, ctx: CallContext) -> dict[str, Any]:
            return self._echo(ctx)

    calls = {"get": EchoDescriptions.look, "post": EchoDescriptions.send}
    view = EchoController.as_view(
        {"get": "serve_call", "post": "serve_call"},
        ucloud_calls=calls,
        http_method_names=["get", "post", "head", "options"],
    )
    return EchoDescriptions, EchoController, view


def bearer(username: str = "alice") -> str:
    return f"Bearer {mint_access_token(username, Role.USER)}"


def test_job_id_and_caused_by_headers_reach_the_call_context(echo):
    _, _, view = echo
    request = factory.get(
        "/api/echo/x",
        {"name": "q"},
        HTTP_AUTHORIZATION=bearer(),
        HTTP_JOB_ID="job-42",
        HTTP_CAUSED_BY="job-41",
    )
    response = view(request)
    assert response.status_code == 200
    assert response.data == {
        "name": "q",
        "username": "alice",
        "job_id": "job-42",
        "caused_by": "job-41",
    }


def test_a_job_id_is_made_when_the_caller_sends_none(echo):
    _, _, view = echo
    first = view(factory.get("/api/echo/x", HTTP_AUTHORIZATION=bearer())).data
    second = view(factory.get("/api/echo/x", HTTP_AUTHORIZATION=bearer())).data
    assert first["job_id"]
    assert first["job_id"] != second["job_id"]
    assert first["caused_by"] is None


def test_body_calls_read_json_and_answer_with_their_success_status(echo):
    _, _, view = echo
    request = factory.post(
        "/api/echo/x", {"name": "posted"}, format="json", HTTP_AUTHORIZATION=bearer("bob")
    )
    response = view(request)
    assert response.status_code == 201
    assert (response.data["name"], response.data["username"]) == ("posted", "bob")


def test_head_runs_the_get_call(echo):
    _, _, view = echo
    response = view(factory.head("/api/echo/x", HTTP_AUTHORIZATION=bearer()))
    assert response.status_code == 200


def test_method_without_a_call_is_405(echo):
    _, _, view = echo
    response = view(factory.put("/api/echo/x", {}, format="json", HTTP_AUTHORIZATION=bearer()))
    assert response.status_code == 405
    assert response.data["error_code"] == "method_not_allowed"


def test_guest_gets_401_with_bearer_challenge(echo):
    _, _, view = echo
    response = view(factory.get("/api/echo/x"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_action_is_named_after_the_implementing_method(echo):
    _, controller, _ = echo
    descriptions = echo[0]
    view = controller.as_view({"post": "serve_call"}, ucloud_calls={"post": descriptions.send})
    request = factory.post("/api/echo/x", {}, format="json", HTTP_AUTHORIZATION=bearer())
    response = view(request)
    assert response.renderer_context["view"].action == "send"


def test_implement_registers_the_controller_method(echo):
    descriptions, controller, _ = echo
    assert implementations()[descriptions.look] == [(controller, "get")]
    assert controller.ucloud_methods == {descriptions.look: "get", descriptions.send: "send"}


def test_subclass_inherits_and_extends_implementations(echo):
    descriptions, controller, _ = echo

    class Extended(controller):
        @implement(descriptions.unimplemented)
        def none(self, ctx: CallContext) -> dict[str, Any]:
            return {}

    assert set(Extended.ucloud_methods) == {
        descriptions.look,
        descriptions.send,
        descriptions.unimplemented,
    }
    assert descriptions.unimplemented not in controller.ucloud_methods


def test_handler_for_an_unimplemented_call_is_404_not_implemented(echo):
    descriptions, _, _ = echo
    with pytest.raises(NotFound) as info:
        handler_for(descriptions.unimplemented)
    assert info.value.error_code == "not_implemented"


def test_handler_named_like_a_verb_is_looked_up_on_the_class():
    handler = handler_for(FileDescriptions.delete)
    assert handler.__func__ is FileController.delete
