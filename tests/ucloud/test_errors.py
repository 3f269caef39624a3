"""Error responses over HTTP (Django test client), and the one mapping between
exceptions and JSON errors, both ways (``ucloud.rpc.error_mapping``,
``ucloud.contracts.errors``)."""

from __future__ import annotations

import logging
from contextlib import nullcontext

import pytest
from django.core.exceptions import (
    DisallowedHost,
    ObjectDoesNotExist,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.test import Client
from rest_framework import exceptions as drf
from rest_framework.renderers import JSONRenderer

from apps.files.api import FileDescriptions
from ucloud.auth.tokens import mint_access_token
from ucloud.contracts.errors import (
    BadGateway,
    BadRequest,
    Conflict,
    Forbidden,
    InternalServerError,
    NotFound,
    PayloadTooLarge,
    RPCException,
    TooManyRequests,
    Unauthorized,
    exception_class,
)
from ucloud.contracts.roles import Role
from ucloud.rpc.client import RPCClient
from ucloud.rpc.error_mapping import as_rpc_exception, error_from_response, exception_handler
from ucloud.testing import forced_http

JSON = "application/json"


@pytest.fixture
def alice() -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {mint_access_token('alice', Role.USER)}"}


def error_of(response) -> tuple[int, str]:
    assert response["Content-Type"].startswith(JSON)
    return response.status_code, response.json()["error_code"]


def test_malformed_json_is_400_malformed_body(client, alice):
    response = client.post("/api/files", data="{not json", content_type=JSON, **alice)
    assert error_of(response) == (400, "malformed_body")
    assert response.json()["why"].startswith("Malformed request body")


def test_json_array_body_is_400_invalid_request(client, alice):
    response = client.post("/api/files", data="[1, 2]", content_type=JSON, **alice)
    assert error_of(response) == (400, "invalid_request")
    assert "non_field_errors" in response.json()["errors"]


def test_field_errors_cross_http(client):
    response = client.post("/api/accounts/login", data={"username": "a"}, content_type=JSON)
    assert error_of(response) == (400, "invalid_request")
    assert response.json()["errors"] == {"password": ["This field is required."]}


def test_wrong_content_type_is_415(client, alice):
    response = client.post("/api/files", data="path=/a", content_type="text/plain", **alice)
    assert error_of(response) == (415, "unsupported_media_type")


def test_wrong_method_is_405(client, alice):
    response = client.put("/api/files", data="{}", content_type=JSON, **alice)
    assert error_of(response) == (405, "method_not_allowed")
    assert set(response["Allow"].split(", ")) == {"DELETE", "POST", "OPTIONS"}
    assert error_of(client.get("/api/files/move", **alice)) == (405, "method_not_allowed")


def test_head_on_a_get_route_answers_like_get_without_a_body(client, alice):
    response = client.head("/api/accounts/whoami", **alice)
    assert response.status_code == 200
    assert response.content == b""
    assert client.head("/api/accounts/whoami").status_code == 401


def test_bad_authorization_scheme_is_401_with_bearer_challenge(client):
    token = mint_access_token("alice", Role.USER)
    response = client.get("/api/accounts/whoami", HTTP_AUTHORIZATION=f"Basic {token}")
    assert error_of(response) == (401, "invalid_token")
    assert response["WWW-Authenticate"] == "Bearer"


def test_bearer_without_token_is_401(client):
    response = client.get("/api/accounts/whoami", HTTP_AUTHORIZATION="Bearer ")
    assert error_of(response) == (401, "invalid_token")


def test_invalid_token_is_401_with_bearer_challenge(client):
    response = client.get("/api/accounts/whoami", HTTP_AUTHORIZATION="Bearer nope")
    assert error_of(response) == (401, "invalid_token")
    assert response["WWW-Authenticate"] == "Bearer"


def test_guest_on_a_user_call_is_401_with_bearer_challenge(client):
    response = client.get("/api/accounts/whoami")
    assert error_of(response) == (401, "unauthorized")
    assert response["WWW-Authenticate"] == "Bearer"


def test_user_on_an_admin_call_is_403_without_challenge(client, alice):
    response = client.post(
        "/api/accounts/users", data={"username": "x", "password": "y"}, content_type=JSON, **alice
    )
    assert error_of(response) == (403, "forbidden")
    assert "WWW-Authenticate" not in response


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_unknown_api_path_is_json_404_without_csrf_failure(method):
    csrf_client = Client(enforce_csrf_checks=True)
    response = getattr(csrf_client, method)("/api/nowhere/at/all", content_type=JSON)
    assert error_of(response) == (404, "not_found")
    assert "/api/nowhere/at/all" in response.json()["why"]


def test_known_paths_need_no_csrf_token(alice):
    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post(
        "/api/accounts/refresh", data={"refresh_token": "x"}, content_type=JSON
    )
    assert error_of(response) == (401, "invalid_token")


def test_handler_maps_rpc_exceptions_to_their_body():
    response = exception_handler(Conflict("taken", error_code="path_exists"), {})
    assert response is not None
    assert (response.status_code, response.data) == (
        409,
        {"why": "taken", "error_code": "path_exists"},
    )


def test_handler_maps_http404_and_drf_errors():
    not_found = exception_handler(Http404("secret detail"), {})
    assert not_found is not None
    assert not_found.data == {"why": "Not found", "error_code": "not_found"}
    invalid = exception_handler(drf.ValidationError({"a": ["bad"]}), {})
    assert invalid is not None
    assert invalid.status_code == 400
    assert invalid.data["errors"] == {"a": ["bad"]}
    throttled = exception_handler(drf.Throttled(), {})
    assert throttled is not None
    assert (throttled.status_code, throttled.data["error_code"]) == (429, "throttled")


def test_handler_hides_and_logs_unknown_errors(caplog):
    with caplog.at_level(logging.ERROR, logger="ucloud.rpc"):
        response = exception_handler(RuntimeError("password=hunter2"), {})
    assert response is not None
    assert response.status_code == 500
    assert response.data == {"why": "Internal server error", "error_code": "internal_error"}
    assert any(r.exc_info and r.exc_info[0] is RuntimeError for r in caplog.records)


# --- one mapping, both ways ------------------------------------------------------


class UnknownGadget(NotFound):
    """A service's own error class: found again by its code."""

    default_code = "unknown_gadget"


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "invalid_request", BadRequest),
        (401, "token_expired", Unauthorized),
        (403, "caller_not_allowed", Forbidden),
        (404, "unknown_file", NotFound),
        (404, "unknown_gadget", UnknownGadget),
        (409, "path_exists", Conflict),
        (413, "body_too_large", PayloadTooLarge),
        (429, "throttled", TooManyRequests),
        (500, "internal_error", InternalServerError),
        (502, "remote_error", BadGateway),
        (418, "teapot", RPCException),
    ],
)
def test_the_class_follows_status_and_code(status, code, expected):
    assert exception_class(status, code) is expected


def test_a_rebuilt_error_is_the_raised_one_field_for_field():
    raised = BadRequest("Invalid request", error_code="invalid_request", errors={"id": ["bad"]})
    response = exception_handler(raised, {})
    rebuilt = error_from_response(
        response.status_code,
        JSONRenderer().render(response.data),
        dict(response.items()),
        service="files",
    )
    assert (type(rebuilt), rebuilt.status, rebuilt.body()) == (BadRequest, 400, raised.body())


def test_retry_after_crosses_as_a_header():
    response = exception_handler(TooManyRequests("slow down", retry_after=42), {})
    assert response["Retry-After"] == "42"
    rebuilt = error_from_response(
        429, JSONRenderer().render(response.data), {"Retry-After": "42"}, service="accounts"
    )
    assert isinstance(rebuilt, TooManyRequests)
    assert (rebuilt.retry_after, rebuilt.why) == (42, "slow down")


def test_a_subclass_without_a_code_of_its_own_is_raised_as_its_status_class():
    class LocalOnly(NotFound):
        pass

    error = as_rpc_exception(LocalOnly("gone"), where="in a test")
    # What an HTTP caller would rebuild: NotFound, with the same data.
    assert (type(error), error.why, error.error_code) == (NotFound, "gone", "not_found")
    assert type(as_rpc_exception(UnknownGadget())) is UnknownGadget
    assert type(as_rpc_exception(NotFound(error_code="unknown_gadget"))) is UnknownGadget


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (RequestDataTooBig("big"), 413, "body_too_large"),
        (DisallowedHost("evil.example"), 400, "disallowed_host"),
        (SuspiciousOperation("odd"), 400, "bad_request"),
        (ObjectDoesNotExist(), 404, "not_found"),
        (PermissionDenied(), 403, "forbidden"),
        (DjangoValidationError({"name": ["taken"]}), 400, "invalid_request"),
    ],
)
def test_django_exceptions_map_to_kit_errors(exc, status, code):
    error = as_rpc_exception(exc)
    assert (error.status, error.error_code) == (status, code)
    assert type(error) is exception_class(status, code)


def test_error_classes_match_over_http_and_in_process(live_server):
    alice = RPCClient.for_token(mint_access_token("alice", Role.USER))
    errors = []
    for force in (False, True):
        transport = forced_http(live_server.url) if force else nullcontext()
        with transport, pytest.raises(RPCException) as info:
            FileDescriptions.retrieve.call({"id": 424242}, alice)
        errors.append((type(info.value), info.value.status, info.value.body()))
    assert errors[0] == errors[1]
    assert errors[0][0] is NotFound
