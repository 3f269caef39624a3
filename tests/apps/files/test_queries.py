"""Queries per files call, through the whole in-process pipeline.

Pinned so that a change in a query's shape fails here rather than showing
up as a slower benchmark. Savepoints are not counted (``captured_queries``).
The calls that change files are audited: the test settings produce each
audit record in the call (``AUDIT_IN_BACKGROUND`` off), one more INSERT at
the end; a deployment produces them from a background thread in batches.
"""

from __future__ import annotations

import pytest

from apps.accounts.services import user_create
from apps.files import services
from apps.files.api import FileDescriptions
from ucloud.contracts.errors import NotFound
from ucloud.testing import captured_queries, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def users() -> None:
    for username in ("alice", "bob", "carol"):
        user_create(username=username, password="correct-horse-battery", role="USER")


@pytest.fixture
def file_id() -> int:
    """A file of alice's, shared with bob."""
    created = services.file_create(owner="alice", path="/a.txt", size=3)
    FileDescriptions.share.call({"id": created["id"], "username": "bob"}, client_for("alice"))
    return int(created["id"])


def statements(call, request, username: str = "alice") -> list[str]:
    client = client_for(username)
    with captured_queries() as sql:
        call.call(request, client)
    return [statement.split()[0] for statement in sql]


def test_create_inserts_the_file_and_its_event():
    assert statements(FileDescriptions.create, {"path": "/b", "size": 1}) == [
        "INSERT",  # the file
        "INSERT",  # its event
        "INSERT",  # the audit record
    ]


def test_retrieve_is_one_select_with_the_shares(file_id):
    assert statements(FileDescriptions.retrieve, {"id": file_id}) == ["SELECT"]
    assert statements(FileDescriptions.retrieve, {"id": file_id}, "bob") == ["SELECT"]


def test_retrieve_of_an_invisible_file_is_one_select(file_id):
    with captured_queries() as sql, pytest.raises(NotFound):
        FileDescriptions.retrieve.call({"id": file_id}, client_for("carol"))
    assert len(sql) == 1


def test_browse_is_one_select_plus_the_shares_of_the_page(file_id):
    services.file_create(owner="bob", path="/b.txt", size=1)
    request = {"items_per_page": 10}
    assert statements(FileDescriptions.browse, request, "bob") == ["SELECT", "SELECT"]
    # An empty page needs no shares.
    assert statements(FileDescriptions.browse, request, "carol") == ["SELECT"]


def test_move_locks_updates_writes_its_event_and_reads_the_shares(file_id):
    request = {"id": file_id, "new_path": "/moved"}
    assert statements(FileDescriptions.move, request) == [
        "SELECT",  # the file, locked
        "UPDATE",
        "INSERT",  # the event
        "SELECT",  # the shares, for the answer
        "INSERT",  # the audit record
    ]


def test_delete_locks_writes_its_event_and_deletes(file_id):
    assert statements(FileDescriptions.delete, {"id": file_id}) == [
        "SELECT",  # the file, locked
        "INSERT",  # the event
        "DELETE",  # the shares
        "DELETE",  # the file
        "INSERT",  # the audit record
    ]


def test_share_checks_asks_accounts_then_locks_and_inserts(file_id):
    assert statements(FileDescriptions.share, {"id": file_id, "username": "carol"}) == [
        "SELECT",  # the file and its shares, before asking accounts
        "SELECT",  # accounts: the user
        "SELECT",  # the file again, locked
        "SELECT",  # its shares, as committed before the lock was ours
        "INSERT",  # the share
        "INSERT",  # the event
        "INSERT",  # the audit record
    ]


def test_sharing_again_only_reads_the_file(file_id):
    assert statements(FileDescriptions.share, {"id": file_id, "username": "bob"}) == [
        "SELECT",  # the file and its shares: bob has it already
        "INSERT",  # the audit record
    ]
