"""``Principal.has_scope``: exact, namespace and ``all`` grants; write implies read."""

from __future__ import annotations

import pytest

from ucloud.auth.principal import ALL_SCOPES, GUEST, Principal
from ucloud.contracts.roles import Role


def principal(*scopes: str) -> Principal:
    return Principal("alice", Role.USER, scopes)


@pytest.mark.parametrize(
    ("granted", "wanted", "allowed"),
    [
        # exact call
        ("files.create:write", "files.create:write", True),
        ("files.browse:read", "files.browse:read", True),
        ("files.browse:read", "files.create:read", False),
        # whole namespace
        ("files:read", "files.browse:read", True),
        ("files:write", "files.create:write", True),
        ("files:write", "accounts.whoami:read", False),
        # everything
        ("all:read", "accounts.whoami:read", True),
        ("all:write", "files.create:write", True),
        # write implies read; read does not imply write
        ("files.browse:write", "files.browse:read", True),
        ("files:write", "files.browse:read", True),
        ("files.create:read", "files.create:write", False),
        ("files:read", "files.create:write", False),
        ("all:read", "files.create:write", False),
        # a namespace that only shares a prefix is another namespace
        ("file:write", "files.create:write", False),
        # malformed grants match nothing
        ("files", "files.browse:read", False),
        ("", "files.browse:read", False),
    ],
)
def test_has_scope(granted, wanted, allowed):
    assert principal(granted).has_scope(wanted) is allowed


def test_any_matching_grant_is_enough():
    assert principal("accounts:read", "files.create:write").has_scope("files.create:write")


def test_no_scopes_grant_nothing():
    assert not principal().has_scope("files.browse:read")
    assert not GUEST.has_scope("files.browse:read")


def test_default_scopes_grant_everything():
    assert Principal("svc", Role.SERVICE).scopes == ALL_SCOPES
    assert Principal("svc", Role.SERVICE).has_scope("accounts.create_user:write")


def test_token_is_not_part_of_equality_or_repr():
    a = Principal("alice", Role.USER, token="t1")
    b = Principal("alice", Role.USER, token="t2")
    assert a == b
    assert "t1" not in repr(a)


def test_principals_are_authenticated_for_drf():
    assert principal().is_authenticated
