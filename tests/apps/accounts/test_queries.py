"""Queries per accounts call, through the whole in-process pipeline.

Pinned so that a change in a query's shape fails here rather than showing
up as a slower benchmark. Savepoints are not counted (``captured_queries``).
"""

from __future__ import annotations

import pytest

from apps.accounts import services
from apps.accounts.api import AccountDescriptions
from ucloud.contracts.roles import Role
from ucloud.rpc.client import RPCClient
from ucloud.testing import captured_queries, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def users() -> None:
    services.user_create(username="alice", password="correct-horse-battery", role="USER")


def statements(call, request, client) -> list[str]:
    with captured_queries() as sql:
        call.call(request, client)
    return [statement.split()[0] for statement in sql]


def test_whoami_touches_no_database():
    assert statements(AccountDescriptions.whoami, {}, client_for("alice")) == []


def test_retrieve_user_is_one_select():
    client = RPCClient.for_service("files")
    request = {"username": "alice"}
    assert statements(AccountDescriptions.retrieve_user, request, client) == ["SELECT"]


def test_create_user_is_one_insert():
    request = {"username": "bob", "password": "correct-horse-battery"}
    client = client_for("root", Role.ADMIN)
    # The user, then the audit record (the test settings produce it in the call).
    assert statements(AccountDescriptions.create_user, request, client) == ["INSERT", "INSERT"]
