"""``RPCClient``: who calls, and onward calls made from a handler's context."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework import serializers

from apps.accounts.api import AccountDescriptions
from ucloud.auth.principal import GUEST
from ucloud.auth.tokens import mint_access_token
from ucloud.contracts.bindings import http_retrieve
from ucloud.contracts.calls import CallDescriptionContainer, Empty, call
from ucloud.contracts.errors import RPCException, Unauthorized
from ucloud.contracts.roles import Role, Roles
from ucloud.rpc.client import RPCClient
from ucloud.rpc.context import CallContext
from ucloud.rpc.controllers import Controller, implement

WHOAMI = AccountDescriptions.whoami


def test_default_client_is_a_guest():
    client = RPCClient()
    assert client.principal is GUEST
    assert (client.caused_by, client.force_http) == (None, None)
    assert repr(client) == "<RPCClient GUEST ''>"


def test_guest_client_is_refused_by_authenticated_calls():
    with pytest.raises(RPCException) as info:
        WHOAMI.call({}, RPCClient())
    assert info.value.status == 401


def test_for_token_acts_as_the_token_holder():
    client = RPCClient.for_token(mint_access_token("alice", Role.USER), caused_by="job-1")
    assert WHOAMI.call({}, client) == {"username": "alice", "role": "USER"}
    assert client.caused_by == "job-1"
    assert repr(client) == "<RPCClient USER 'alice'>"


def test_for_token_validates_the_token_at_once():
    with pytest.raises(Unauthorized):
        RPCClient.for_token("garbage")


def test_for_service_acts_as_the_service():
    client = RPCClient.for_service("files")
    assert WHOAMI.call({}, client) == {"username": "_files", "role": "SERVICE"}


class Seen(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.CharField()
    caused_by = serializers.CharField(allow_null=True)
    job_id = serializers.CharField()


@pytest.fixture
def relay(kit_registries):
    """A call whose handler calls onward, so that its context's clients can be seen.

    It claims a module of the files app, so that ``service_client`` acts as files.
    """

    class RelayDescriptions(CallDescriptionContainer):
        __module__ = "apps.files.client_test_contract"
        namespace = "relay"
        as_user = call(request=Empty, response=Seen, http=http_retrieve("user"))
        as_service = call(request=Empty, response=Seen, http=http_retrieve("service"))
        echo = call(
            request=Empty, response=Seen, http=http_retrieve("echo"), roles=Roles.AUTHENTICATED
        )

    class RelayController(Controller):
        @implement(RelayDescriptions.as_user)
        def as_user(self, ctx: CallContext) -> Any:
            # Reports the onward call's view, with this (the parent) call's job id.
            return {**RelayDescriptions.echo.call({}, ctx.client), "job_id": ctx.job_id}

        @implement(RelayDescriptions.as_service)
        def as_service(self, ctx: CallContext) -> Any:
            return {**RelayDescriptions.echo.call({}, ctx.service_client), "job_id": ctx.job_id}

        @implement(RelayDescriptions.echo)
        def echo(self, ctx: CallContext) -> dict[str, Any]:
            return {
                "username": ctx.principal.username,
                "role": ctx.principal.role.value,
                "caused_by": ctx.caused_by,
                "job_id": ctx.job_id,
            }

    return RelayDescriptions


def test_context_client_calls_onward_as_the_same_user(relay):
    client = RPCClient.for_token(mint_access_token("alice", Role.USER))
    seen = relay.as_user.call({}, client)
    assert (seen["username"], seen["role"]) == ("alice", "USER")
    # The onward call names the job that caused it.
    assert seen["caused_by"] == seen["job_id"]


def test_context_service_client_calls_as_the_service(relay):
    client = RPCClient.for_token(mint_access_token("alice", Role.USER))
    seen = relay.as_service.call({}, client)
    assert (seen["username"], seen["role"]) == ("_files", "SERVICE")
    assert seen["caused_by"] == seen["job_id"]
