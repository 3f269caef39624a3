"""``ucloud.rpc.schema``: the OpenAPI document is generated from the call descriptions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.urls import path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers

from apps.files.api import File, FileDescriptions
from ucloud import registry, serving
from ucloud.contracts.bindings import HttpBinding, RequestSource
from ucloud.contracts.calls import CallDescription, Empty, call, containers
from ucloud.contracts.pages import page_of
from ucloud.contracts.roles import Role, Roles
from ucloud.rpc.controllers import Controller
from ucloud.rpc.implementations import implementations

JSON_SCHEMA_URL = "/api/schema/?format=json"
BEARER: dict[str, list[str]] = {"bearerAuth": []}

# The OpenAPI type drf-spectacular gives the field classes used in query requests.
QUERY_TYPES: dict[type[serializers.Field], str] = {
    serializers.BooleanField: "boolean",
    serializers.IntegerField: "integer",
    serializers.FloatField: "number",
    serializers.CharField: "string",
}


def served_calls() -> list[CallDescription]:
    """Implemented calls of the services served here, as ``ucloud.rpc.routes`` mounts them."""
    implemented = implementations()
    served: list[CallDescription] = []
    for container in containers().values():
        try:
            service = registry.service_of_module(container.__module__)
        except LookupError:
            continue
        if not serving.is_served(service):
            continue
        served.extend(c for c in container.calls() if implemented.get(c))
    return served


@pytest.fixture
def document(client) -> dict[str, Any]:
    response = client.get(JSON_SCHEMA_URL)
    assert response.status_code == 200
    return json.loads(response.content)


@pytest.fixture
def no_generator_warnings() -> Iterator[None]:
    """Start from an empty warning log; fail if generating left anything in it."""
    GENERATOR_STATS.reset()
    yield
    assert not GENERATOR_STATS, "schema generation emitted warnings or errors"


def operation(document: dict[str, Any], described: CallDescription) -> dict[str, Any]:
    op: dict[str, Any] = document["paths"]["/" + described.path][described.http.method.lower()]
    return op


def component(document: dict[str, Any], ref: str) -> dict[str, Any]:
    prefix = "#/components/schemas/"
    assert ref.startswith(prefix)
    schema: dict[str, Any] = document["components"]["schemas"][ref.removeprefix(prefix)]
    return schema


def json_schema(content_owner: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = content_owner["content"]["application/json"]["schema"]
    return schema


def required_fields(serializer_class: type[serializers.Serializer]) -> set[str]:
    return {name for name, field in serializer_class().fields.items() if field.required}


# --- the served document -----------------------------------------------------


def test_schema_is_openapi_3_json_and_also_served_for_the_openapi_json_accept_header(client):
    by_param = client.get(JSON_SCHEMA_URL)
    by_header = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert by_param.status_code == by_header.status_code == 200
    assert json.loads(by_param.content)["openapi"].startswith("3.")
    assert json.loads(by_header.content) == json.loads(by_param.content)


def test_paths_and_methods_are_exactly_the_routes_of_the_served_calls(document):
    expected = {("/" + c.path, c.http.method.lower()) for c in served_calls()}
    actual = {(route, method) for route, ops in document["paths"].items() for method in ops}
    assert actual == expected
    # Anchors, so that an empty registry cannot make the comparison pass.
    assert ("/api/files", "delete") in actual
    assert ("/api/accounts/login", "post") in actual


def test_each_operation_is_named_tagged_and_summarised_after_its_call(document):
    for described in served_calls():
        op = operation(document, described)
        assert op["operationId"] == described.full_name
        assert op["tags"] == [described.namespace]
        assert op.get("summary", "") == described.summary
        assert described.description in op["description"]
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))


def test_roles_access_scope_and_audit_are_vendor_extensions_and_roles_are_described(document):
    for described in served_calls():
        op = operation(document, described)
        roles = [role.value for role in Role if role in described.roles]
        assert op["x-ucloud-call"] == described.full_name
        assert op["x-ucloud-roles"] == roles
        assert op["x-ucloud-access"] == described.access.value
        assert op["x-ucloud-scope"] == described.scope
        assert op["x-ucloud-audit"] is described.audit
        assert f"**Roles:** {', '.join(roles)}" in op["description"]
        assert described.scope in op["description"]


def test_body_calls_document_their_request_serializer_as_a_json_body(document):
    body_calls = [c for c in served_calls() if c.http.source is RequestSource.BODY]
    assert FileDescriptions.delete in body_calls  # a body on DELETE is documented too
    for described in body_calls:
        op = operation(document, described)
        assert "parameters" not in op
        fields = described.request().fields
        if not fields:
            assert "requestBody" not in op
            continue
        schema = component(document, json_schema(op["requestBody"])["$ref"])
        assert set(schema["properties"]) == set(fields)
        assert set(schema.get("required", [])) == required_fields(described.request)
        assert op["requestBody"].get("required", False) is bool(required_fields(described.request))


def test_query_calls_document_each_request_field_as_a_query_parameter(document):
    query_calls = [c for c in served_calls() if c.http.source is RequestSource.QUERY]
    assert FileDescriptions.browse in query_calls
    for described in query_calls:
        op = operation(document, described)
        assert "requestBody" not in op
        fields = described.request().fields
        params = {p["name"]: p for p in op.get("parameters", [])}
        assert set(params) == set(fields)
        for name, field in fields.items():
            param = params[name]
            assert param["in"] == "query"
            assert param.get("required", False) is field.required
            if field.help_text:
                assert param["description"] == field.help_text
            for field_class, openapi_type in QUERY_TYPES.items():
                if isinstance(field, field_class):
                    assert param["schema"]["type"] == openapi_type
                    break


def test_browse_parameters_carry_the_page_limits(document):
    params = {p["name"]: p for p in operation(document, FileDescriptions.browse)["parameters"]}
    assert params["items_per_page"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 250,
        "default": 50,
    }
    assert params["next"]["schema"]["type"] == "string"
    assert "required" not in params["next"]


def test_success_response_is_the_response_serializer_at_the_call_status(document):
    for described in served_calls():
        responses = operation(document, described)["responses"]
        success = str(described.http.success_status)
        fields = described.response().fields
        schema = json_schema(responses[success])
        if not fields:
            assert schema["type"] == "object"
            assert schema["additionalProperties"] is False
            continue
        resolved = component(document, schema["$ref"])
        assert set(resolved["properties"]) == set(fields)
        assert set(resolved.get("required", [])) == required_fields(described.response)


def test_error_responses_follow_the_roles_and_share_the_error_body(document):
    for described in served_calls():
        responses = operation(document, described)["responses"]
        expected = {"400", *(str(error.status) for error in described.errors)}
        if described.roles - {Role.GUEST}:  # a token is accepted: it may be bad or narrow
            expected |= {"401", "403"}
        if Roles.AUTHENTICATED - described.roles:
            expected.add("403")
        errors = {code for code in responses if code.startswith("4")}
        assert errors == expected, described.full_name
        for code in errors:
            assert json_schema(responses[code]) == {"$ref": "#/components/schemas/RPCError"}
    error = document["components"]["schemas"]["RPCError"]
    assert set(error["properties"]) == {"why", "error_code", "errors"}
    assert set(error["required"]) == {"why", "error_code"}


def test_guest_calls_need_no_token_and_the_others_a_bearer_jwt(document):
    for described in served_calls():
        security = operation(document, described)["security"]
        if Role.GUEST in described.roles:
            assert security == [BEARER, {}], described.full_name
        else:
            assert security == [BEARER], described.full_name
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")


def test_components_are_named_after_their_service_and_pages_reference_their_items(document):
    schemas = document["components"]["schemas"]
    browse = json_schema(operation(document, FileDescriptions.browse)["responses"]["200"])
    assert browse == {"$ref": "#/components/schemas/FilesPageOfFile"}
    assert schemas["FilesPageOfFile"]["properties"]["items"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/FilesFile"},
    }
    assert "AccountsUserInfo" in schemas


def test_the_same_contract_gives_the_same_document_every_time(client):
    first = client.get(JSON_SCHEMA_URL).content
    assert client.get(JSON_SCHEMA_URL).content == first


def test_swagger_ui_is_served_as_html_pointing_at_the_schema(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"/api/schema/" in response.content


def test_generation_validates_and_emits_no_warnings(tmp_path, capsys, no_generator_warnings):
    target = tmp_path / "openapi.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert capsys.readouterr().err == ""
    written = yaml.safe_load(target.read_text())
    assert {c.full_name for c in served_calls()} == {
        op["operationId"] for ops in written["paths"].values() for op in ops.values()
    }


# --- calls outside the example services ----------------------------------------


class EchoQuery(serializers.Serializer):
    word = serializers.CharField(help_text="The word to say back.")
    times = serializers.IntegerField(default=1, help_text="How often to say it.")


class Echo(serializers.Serializer):
    words = serializers.ListField(child=serializers.CharField())


def described(name: str, **kwargs: Any) -> CallDescription:
    # Declared without a container on purpose: a test container would join
    # the kit registries; the schema only needs the names filled in.
    description = call(**kwargs)
    description.name, description.namespace = name, "demo"
    return description


ECHO = described(
    "echo",
    request=EchoQuery,
    response=Echo,
    roles={Role.GUEST},
    http=HttpBinding("GET", "echo", RequestSource.QUERY),
    summary="Say a word back",
)
PURGE = described(
    "purge",
    request=EchoQuery,
    response=Empty,
    roles=Roles.ADMIN,
    http=HttpBinding("DELETE", "echo", RequestSource.BODY),
    audit=True,
)
WHO = described(
    "who",
    request=Empty,
    response=Echo,
    roles=Roles.AUTHENTICATED,
    http=HttpBinding("POST", "who", RequestSource.BODY),
)


def generate(routes: dict[str, dict[str, CallDescription]]) -> dict[str, Any]:
    """The document for hand-made routes on the base ``Controller``."""
    patterns = [
        path(
            route,
            Controller.as_view(
                dict.fromkeys(["get", "post", "delete"], "serve_call"), ucloud_calls=calls
            ),
        )
        for route, calls in routes.items()
    ]
    schema: dict[str, Any] = SchemaGenerator(patterns=patterns).get_schema(public=True)
    return schema


def test_help_text_of_query_fields_becomes_the_parameter_description(no_generator_warnings):
    doc = generate({"api/demo/echo": {"get": ECHO}})
    params = {p["name"]: p for p in doc["paths"]["/api/demo/echo"]["get"]["parameters"]}
    assert params["word"]["description"] == "The word to say back."
    assert params["word"]["required"] is True
    assert params["times"]["description"] == "How often to say it."
    assert params["times"]["schema"]["default"] == 1


def test_a_guest_only_call_documents_no_security_and_no_401(no_generator_warnings):
    op = generate({"api/demo/echo": {"get": ECHO}})["paths"]["/api/demo/echo"]["get"]
    assert op["security"] == [{}]
    assert set(op["responses"]) == {"200", "400", "403"}
    assert "(no token needed)" in op["description"]


def test_a_delete_call_documents_its_body_and_an_empty_object_response(no_generator_warnings):
    doc = generate({"api/demo/echo": {"delete": PURGE}})
    op = doc["paths"]["/api/demo/echo"]["delete"]
    assert json_schema(op["requestBody"]) == {"$ref": "#/components/schemas/EchoQuery"}
    assert op["requestBody"]["required"] is True
    assert json_schema(op["responses"]["200"])["additionalProperties"] is False
    assert set(op["responses"]) == {"200", "400", "401", "403"}
    assert op["x-ucloud-audit"] is True
    assert "Audited." in op["description"]


def test_a_request_without_fields_has_no_body_and_any_authenticated_role_gets_403_for_scope_only(
    no_generator_warnings,
):
    op = generate({"api/demo/who": {"post": WHO}})["paths"]["/api/demo/who"]["post"]
    assert "requestBody" not in op
    assert set(op["responses"]) == {"200", "400", "401", "403"}
    assert op["responses"]["403"]["description"] == (
        "- `missing_scope`: The token lacks the call's scope."
    )
    assert op["security"] == [BEARER]


def test_methods_a_route_does_not_bind_to_a_call_are_left_out(no_generator_warnings):
    doc = generate({"api/demo/echo": {"get": ECHO}})
    assert set(doc["paths"]["/api/demo/echo"]) == {"get"}


def test_same_named_serializers_of_two_services_get_distinct_components(no_generator_warnings):
    # A second ``File`` as the accounts service would declare it in its api.
    accounts_file = type(
        "File",
        (serializers.Serializer,),
        {"__module__": "apps.accounts.schema_test_contract", "name": serializers.CharField()},
    )
    own = described("own", request=Empty, response=page_of(File), http=HttpBinding("GET", "a"))
    other = described(
        "other",
        request=Empty,
        response=page_of(accounts_file),
        http=HttpBinding("GET", "b"),
    )
    doc = generate({"api/demo/a": {"get": own}, "api/demo/b": {"get": other}})
    names = set(doc["components"]["schemas"])
    assert {"FilesFile", "FilesPageOfFile", "AccountsFile", "AccountsPageOfFile"} <= names


# --- request limits the document states -------------------------------------------


def test_request_text_fields_state_non_blank_no_nul_and_their_own_patterns(document):
    schemas = document["components"]["schemas"]
    login = schemas["AccountsLoginRequest"]["properties"]
    # Trimmed and non-blank: at least one non-space character, no NUL.
    assert login["username"]["minLength"] == 1
    assert login["username"]["pattern"] == r"^[^\u0000]*[^\s\u0000][^\u0000]*$"
    # Not trimmed: any non-empty text without NUL.
    assert login["password"]["pattern"] == r"^[^\u0000]*$"
    # A field's own pattern wins (the files path rule, the password length).
    path = schemas["FilesCreateFileRequest"]["properties"]["path"]
    assert path["pattern"].startswith("^(?:/(?:")
    assert schemas["AccountsCreateUserRequest"]["properties"]["password"]["minLength"] == 8


def test_request_bodies_are_closed_and_non_empty_lists_say_so(document):
    schemas = document["components"]["schemas"]
    assert schemas["FilesCreateFileRequest"]["additionalProperties"] is False
    assert schemas["NotificationsMarkReadRequest"]["properties"]["ids"]["minItems"] == 1
    # Responses are not requests: open, and no limits added.
    assert "additionalProperties" not in schemas["FilesFile"]
    assert "pattern" not in schemas["FilesFile"]["properties"]["path"]


def test_query_parameters_state_the_page_token_pattern(document):
    params = {p["name"]: p for p in operation(document, FileDescriptions.browse)["parameters"]}
    assert params["next"]["schema"]["pattern"] == "^[0-9]{1,19}$"
