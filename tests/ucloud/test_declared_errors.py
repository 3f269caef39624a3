"""``ucloud.contracts.declared_errors``: declared and implied errors, and the warning for
an error a call answers without declaring it."""

from __future__ import annotations

import json
import warnings

import pytest
from rest_framework import serializers

from apps.accounts.api import AccountDescriptions
from apps.files.api import FileDescriptions
from ucloud.auth.principal import Principal
from ucloud.contracts.bindings import http_create, http_retrieve
from ucloud.contracts.calls import CallDescriptionContainer, Empty, call
from ucloud.contracts.declared_errors import (
    UndeclaredErrorWarning,
    answerable_errors,
    implied_errors,
    is_declared,
)
from ucloud.contracts.errors import (
    BadRequest,
    Conflict,
    DeclaredError,
    InternalServerError,
    NotFound,
    RPCException,
)
from ucloud.contracts.roles import Role, Roles
from ucloud.rpc.client import RPCClient
from ucloud.rpc.pipeline import execute

ALICE = Principal("alice", Role.USER)


def codes(errors) -> list[tuple[int, str]]:
    return [(error.status, error.error_code) for error in errors]


def test_declare_takes_the_status_of_the_exception_class_and_its_defaults():
    assert NotFound.declare("unknown_file", "No such file") == DeclaredError(
        404, "unknown_file", "No such file", NotFound
    )
    assert Conflict.declare() == DeclaredError(409, "conflict", "Conflict", Conflict)


def test_a_call_keeps_its_declared_errors_by_status_and_code():
    described = call(
        request=Empty,
        response=Empty,
        http=http_create(),
        errors=(Conflict.declare("taken"), NotFound.declare("gone"), BadRequest.declare("odd")),
    )
    assert codes(described.errors) == [(400, "odd"), (404, "gone"), (409, "taken")]


@pytest.mark.parametrize(
    ("errors", "problem", "match"),
    [
        (NotFound.declare("gone"), TypeError, "a tuple of declared errors"),
        ((NotFound("gone"),), TypeError, r"not NotFound\('gone'"),
        ((InternalServerError.declare("boom"),), ValueError, "only client errors"),
        ((NotFound.declare("gone"), NotFound.declare("gone", "again")), ValueError, "twice"),
    ],
)
def test_malformed_declarations_are_refused_where_the_call_is_declared(errors, problem, match):
    with pytest.raises(problem, match=match):
        call(request=Empty, response=Empty, http=http_create(), errors=errors)


def test_an_end_user_call_on_a_query_implies_validation_token_role_and_scope_errors():
    described = call(request=Empty, response=Empty, http=http_retrieve(), roles=Roles.END_USER)
    assert codes(implied_errors(described)) == [
        (400, "invalid_request"),
        (401, "unauthorized"),
        (401, "invalid_token"),
        (401, "token_expired"),
        (401, "wrong_audience"),
        (403, "missing_scope"),
        (403, "forbidden"),
    ]


def test_a_public_body_call_implies_a_malformed_body_and_bad_tokens_but_no_missing_token():
    described = call(request=Empty, response=Empty, http=http_create(), roles=Roles.PUBLIC)
    assert codes(implied_errors(described)) == [
        (400, "invalid_request"),
        (400, "malformed_body"),
        (401, "invalid_token"),
        (401, "token_expired"),
        (401, "wrong_audience"),
        (403, "missing_scope"),
    ]


def test_a_guest_only_call_implies_no_401_but_403_for_any_token_holder():
    described = call(request=Empty, response=Empty, http=http_retrieve(), roles={Role.GUEST})
    assert codes(implied_errors(described)) == [(400, "invalid_request"), (403, "forbidden")]


def test_a_call_for_named_services_implies_caller_not_allowed():
    assert (403, "caller_not_allowed") in codes(implied_errors(AccountDescriptions.retrieve_user))
    assert (403, "caller_not_allowed") not in codes(implied_errors(FileDescriptions.retrieve))


def test_a_declared_error_overrides_the_description_of_an_implied_one():
    answerable = {
        (e.status, e.error_code): e for e in answerable_errors(AccountDescriptions.refresh)
    }
    assert answerable[(401, "token_expired")].description == "The refresh token has expired."
    assert answerable[(401, "wrong_audience")].description == "The token is not a refresh token."
    assert codes(answerable_errors(AccountDescriptions.refresh)) == sorted(answerable)


def test_server_errors_are_always_declared_and_client_errors_only_when_listed():
    assert is_declared(FileDescriptions.retrieve, 500, "internal_error")
    assert is_declared(FileDescriptions.retrieve, 502, "bad_gateway")
    assert is_declared(FileDescriptions.retrieve, 404, "unknown_file")
    assert not is_declared(FileDescriptions.retrieve, 404, "not_found")
    assert not is_declared(FileDescriptions.retrieve, 409, "path_exists")


# --- the warning -----------------------------------------------------------------


class Name(serializers.Serializer):
    name = serializers.CharField()


@pytest.fixture
def lookup(kit_registries):
    class LookupDescriptions(CallDescriptionContainer):
        namespace = "lookup"
        find = call(
            request=Name,
            response=Empty,
            http=http_retrieve("find"),
            errors=(NotFound.declare("unknown_name", "No such name"),),
        )

    return LookupDescriptions.find


def run(described, handler, data=None):
    return execute(
        described, data or {"name": "x"}, ALICE, handler=handler, job_id="job-1", clients=RPCClient
    )


def fail_with(error: Exception):
    def handler(ctx):
        raise error

    return handler


def test_an_undeclared_client_error_warns_naming_the_call_the_error_and_the_fix(lookup):
    with (
        pytest.warns(UndeclaredErrorWarning) as seen,
        pytest.raises(Conflict),
    ):
        run(lookup, fail_with(Conflict("Name taken", error_code="name_taken")))

    assert str(seen[0].message) == (
        "lookup.find answered 409 name_taken ('Name taken'), which it does not declare: add "
        "Conflict.declare('name_taken', '...') to its errors=(...), or answer a declared error."
    )


def test_a_remote_error_of_another_status_is_named_as_a_declared_error_to_add(lookup):
    with (
        pytest.warns(UndeclaredErrorWarning, match=r"DeclaredError\(410, 'gone', '...'\)"),
        pytest.raises(RPCException),
    ):
        run(lookup, fail_with(RPCException("Gone", 410, "gone")))


def test_the_test_settings_make_an_undeclared_error_fail_the_test(lookup):
    # pyproject.toml: filterwarnings =
    #     ["error::ucloud.contracts.declared_errors.UndeclaredErrorWarning"]
    with pytest.raises(UndeclaredErrorWarning):
        run(lookup, fail_with(NotFound("Missing row")))


@pytest.mark.parametrize(
    "error",
    [
        NotFound("No such name", error_code="unknown_name"),  # declared
        BadRequest("Odd", error_code="invalid_request"),  # implied
        RuntimeError("a bug"),  # a 500 is never part of a contract
    ],
    ids=["declared", "implied", "server-error"],
)
def test_declared_implied_and_server_errors_do_not_warn(lookup, error):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UndeclaredErrorWarning)
        with pytest.raises(RPCException):
            run(lookup, fail_with(error))


def test_validation_failures_are_implied(lookup):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UndeclaredErrorWarning)
        with pytest.raises(BadRequest):
            run(lookup, lambda ctx: {}, data={"name": ""})


# --- the OpenAPI document ------------------------------------------------------------


@pytest.fixture
def document(client) -> dict:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_the_schema_describes_each_error_status_with_its_codes(document):
    op = document["paths"]["/api/files/share"]["post"]
    assert op["responses"]["404"]["description"] == (
        "- `unknown_file`: No file with this id that the caller owns or that is shared with the "
        "caller.\n"
        "- `unknown_user`: No active user with that username (asked of accounts)."
    )
    assert op["responses"]["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RPCError"
    }


def test_the_schema_lists_every_answerable_error_as_an_extension(document):
    op = document["paths"]["/api/accounts/login"]["post"]
    assert [(e["status"], e["error_code"]) for e in op["x-ucloud-errors"]] == [
        (400, "invalid_request"),
        (400, "malformed_body"),
        (401, "bad_credentials"),
        (401, "invalid_token"),
        (401, "token_expired"),
        (401, "wrong_audience"),
        (403, "missing_scope"),
        (429, "throttled"),
    ]
