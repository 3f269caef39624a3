"""``ucloud.rpc.pipeline.execute``: auth, validation, handler errors and audit."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import pytest
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from rest_framework import serializers

from ucloud.auth.principal import GUEST, Principal
from ucloud.contracts.bindings import http_create, http_retrieve
from ucloud.contracts.calls import CallDescriptionContainer, Empty, call
from ucloud.contracts.errors import NotFound, RPCException
from ucloud.contracts.roles import Access, Role, Roles
from ucloud.rpc.client import RPCClient
from ucloud.rpc.context import CallContext
from ucloud.rpc.pipeline import authorize, execute, new_job_id

ALICE = Principal("alice", Role.USER)
ROOT = Principal("root", Role.ADMIN)


class Secretive(serializers.Serializer):
    name = serializers.CharField(max_length=10)
    password = serializers.CharField()
    nested = serializers.DictField(required=False)


class Echo(serializers.Serializer):
    name = serializers.CharField()


@pytest.fixture
def probe(kit_registries):
    """A test-only contract: one call per behaviour under test."""

    class ProbeDescriptions(CallDescriptionContainer):
        namespace = "probe"
        read = call(
            request=Empty,
            response=Empty,
            http=http_retrieve("read"),
            errors=(NotFound.declare(), NotFound.declare("unknown_thing")),
        )
        write = call(
            request=Empty, response=Empty, http=http_create("write"), access=Access.READ_WRITE
        )
        admin = call(request=Empty, response=Empty, http=http_retrieve("admin"), roles=Roles.ADMIN)
        public = call(
            request=Empty, response=Empty, http=http_retrieve("public"), roles=Roles.PUBLIC
        )
        secret = call(request=Secretive, response=Echo, http=http_create("secret"), audit=True)
        from_files = call(
            request=Empty,
            response=Empty,
            http=http_retrieve("from-files"),
            roles=Roles.PRIVILEGED,
            callers=("files",),
        )

    return ProbeDescriptions


def run(described, data=None, principal=ALICE, handler=None, **kwargs):
    return execute(
        described,
        data,
        principal,
        handler=handler or (lambda ctx: {}),
        job_id=kwargs.pop("job_id", "job-1"),
        clients=RPCClient,
        **kwargs,
    )


def raises(described, status, code, **kwargs) -> RPCException:
    with pytest.raises(RPCException) as info:
        run(described, **kwargs)
    assert (info.value.status, info.value.error_code) == (status, code)
    return info.value


def test_guest_on_a_user_call_is_401(probe):
    raises(probe.read, 401, "unauthorized", principal=GUEST)


def test_user_on_an_admin_call_is_403(probe):
    error = raises(probe.admin, 403, "forbidden")
    assert "USER" in error.why


def test_admin_on_an_admin_call_runs(probe):
    assert run(probe.admin, principal=ROOT) == {}


def test_guest_on_a_public_call_runs_without_scopes(probe):
    assert run(probe.public, principal=GUEST) == {}


def test_missing_scope_is_403_missing_scope(probe):
    reader = Principal("alice", Role.USER, ("probe:read",))
    assert run(probe.read, principal=reader) == {}
    error = raises(probe.write, 403, "missing_scope", principal=reader)
    assert "probe.write:write" in error.why


def test_service_not_among_the_callers_is_403_caller_not_allowed(probe):
    assert run(probe.from_files, principal=Principal("_files", Role.SERVICE)) == {}
    error = raises(
        probe.from_files, 403, "caller_not_allowed", principal=Principal("_billing", Role.SERVICE)
    )
    assert "billing" in error.why
    # The restriction is on services; the other roles of the call are unaffected.
    assert run(probe.from_files, principal=ROOT) == {}
    raises(probe.from_files, 403, "forbidden")


def test_authorize_passes_silently_when_allowed(probe):
    authorize(probe.write, Principal("alice", Role.USER, ("probe.write:write",)))


def test_invalid_request_is_400_with_field_errors(probe):
    error = raises(probe.secret, 400, "invalid_request", data={"name": "x" * 11})
    assert set(error.errors) == {"name", "password"}
    assert error.body()["errors"]["password"] == ["This field is required."]


def test_request_that_is_not_an_object_is_400(probe):
    error = raises(probe.secret, 400, "invalid_request", data=["a", "b"])
    assert "non_field_errors" in error.errors


def test_handler_gets_the_validated_request_principal_and_ids(probe):
    seen: list[CallContext] = []

    def handler(ctx: CallContext) -> dict[str, str]:
        seen.append(ctx)
        return {"name": ctx.request["name"].upper(), "ignored": "dropped by the serializer"}

    result = run(
        probe.secret,
        data={"name": "bob", "password": "pw"},
        handler=handler,
        job_id="job-7",
        caused_by="job-6",
    )
    assert result == {"name": "BOB"}
    (ctx,) = seen
    assert ctx.call is probe.secret
    assert ctx.principal is ALICE
    assert (ctx.job_id, ctx.caused_by) == ("job-7", "job-6")


def test_handler_raising_not_found_passes_through(probe):
    missing = NotFound("No such thing", error_code="unknown_thing")

    def handler(ctx: CallContext) -> None:
        raise missing

    with pytest.raises(NotFound) as info:
        run(probe.read, handler=handler)
    assert info.value is missing


@pytest.mark.parametrize(
    ("raised", "status", "code"),
    [
        (ObjectDoesNotExist("row 3"), 404, "not_found"),
        (PermissionDenied("nope"), 403, "forbidden"),
        (serializers.ValidationError({"x": ["bad"]}), 400, "invalid_request"),
    ],
)
def test_django_and_drf_errors_are_mapped(probe, raised, status, code):
    def handler(ctx: CallContext) -> None:
        raise raised

    raises(probe.read, status, code, handler=handler)


def test_unexpected_error_is_500_without_internals_and_is_logged(probe, caplog):
    def handler(ctx: CallContext) -> None:
        raise KeyError("db-password-hunter2")

    with caplog.at_level(logging.ERROR, logger="ucloud.rpc"):
        error = raises(probe.read, 500, "internal_error", handler=handler)
    assert "hunter2" not in error.why
    assert "KeyError" not in error.why
    assert isinstance(error.__cause__, KeyError)
    (logged,) = [r for r in caplog.records if r.name == "ucloud.rpc"]
    assert "probe.read" in logged.getMessage()
    assert logged.exc_info is not None
    assert logged.exc_info[0] is KeyError


def test_handler_returning_what_the_response_cannot_render_is_500(probe, caplog):
    with caplog.at_level(logging.ERROR, logger="ucloud.rpc"):
        raises(
            probe.secret,
            500,
            "internal_error",
            data={"name": "a", "password": "b"},
            handler=lambda ctx: SimpleNamespace(),
        )


def audit_entries(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "ucloud.audit"]


def test_audit_record_is_written_with_secrets_masked(probe, audit_log):
    data = {
        "name": "bob",
        "password": "hunter2",
        "nested": {"refresh_token": "r", "api_secret": "s", "kept": "k"},
    }
    run(
        probe.secret,
        data=data,
        handler=lambda ctx: {"name": "bob"},
        job_id="job-9",
        caused_by="job-8",
    )
    (entry,) = audit_entries(audit_log)
    assert entry["call"] == "probe.secret"
    assert (entry["username"], entry["role"], entry["status"]) == ("alice", "USER", 200)
    assert (entry["job_id"], entry["caused_by"]) == ("job-9", "job-8")
    assert json.loads(entry["request"]) == {
        "name": "bob",
        "password": "***",
        "nested": {"refresh_token": "***", "api_secret": "***", "kept": "k"},
    }
    assert "hunter2" not in audit_log.text
    assert data["password"] == "hunter2"  # the caller's data is not changed


def test_audit_record_of_a_failed_call_has_its_status(probe, audit_log):
    with pytest.raises(RPCException):
        run(probe.secret, data={"name": "bob", "password": "x"}, principal=GUEST)
    (entry,) = audit_entries(audit_log)
    assert entry["status"] == 401
    assert entry["role"] == "GUEST"


def test_calls_without_audit_are_recorded_only_when_refused(probe, audit_log):
    run(probe.read)
    assert audit_entries(audit_log) == []

    with pytest.raises(RPCException):
        run(probe.admin)

    (entry,) = audit_entries(audit_log)
    assert (entry["call"], entry["status"], entry["username"]) == ("probe.admin", 403, "alice")


def test_job_ids_are_unique():
    assert new_job_id() != new_job_id()
