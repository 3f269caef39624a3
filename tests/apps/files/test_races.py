"""Concurrent writers of one file: every call ends in 2xx, 404 or 409, never 500.

``files.share``, ``move`` and ``delete`` check and act in one transaction,
under the file's row lock. One test forces the worst interleaving (the file
is deleted while ``share`` asks accounts about the target user); the other
runs the calls at once from real threads against PostgreSQL.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

from apps.accounts.services import user_create
from apps.files import services
from apps.files.api import FileDescriptions
from apps.files.models import File, Share
from tests.conftest import require
from ucloud.contracts.errors import NotFound, RPCException
from ucloud.rpc.client import RPCClient
from ucloud.testing import client_for

# Committed transactions: the race is between them.
pytestmark = pytest.mark.django_db(transaction=True)

USERS = ("alice", "bob", "carol", "dave")


@pytest.fixture(autouse=True)
def users() -> None:
    for username in USERS:
        user_create(username=username, password="correct-horse-battery", role="USER")


class DeletingAccounts(RPCClient):
    """The accounts client of ``files``, but the file is deleted during the call."""

    def __init__(self, file_id: int) -> None:
        super().__init__(RPCClient.for_service("files").principal)
        self.file_id = file_id

    def call(self, call: Any, request: Any) -> Any:
        answer = super().call(call, request)
        services.file_delete(username="alice", id=self.file_id)
        return answer


def test_a_file_deleted_while_share_asks_accounts_is_404():
    file = services.file_create(owner="alice", path="/a", size=1)
    with pytest.raises(NotFound) as info:
        services.file_share(
            username="alice", id=file["id"], target="bob", accounts=DeletingAccounts(file["id"])
        )
    assert info.value.error_code == "unknown_file"
    assert not Share.objects.exists()


def status_of(function: Callable[[], Any]) -> int:
    try:
        function()
    except RPCException as exc:
        return exc.status
    return 200


def run_at_once(calls: dict[str, Callable[[], Any]]) -> dict[str, int]:
    """Each call in a thread of its own, released together; their statuses."""
    start = threading.Barrier(len(calls))
    statuses: dict[str, int] = {}

    def run(name: str, function: Callable[[], Any]) -> None:
        try:
            start.wait()
            statuses[name] = status_of(function)
        finally:
            connections.close_all()  # this thread's connections

    threads = [threading.Thread(target=run, args=item) for item in calls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(statuses) == len(calls), "a call did not finish"
    return statuses


def one_round(round_: int) -> dict[str, int]:
    alice = client_for("alice")
    file_id = services.file_create(owner="alice", path=f"/r{round_}/a", size=1)["id"]
    services.file_create(owner="alice", path=f"/r{round_}/taken", size=1)

    def share(target: str) -> Callable[[], Any]:
        return lambda: FileDescriptions.share.call({"id": file_id, "username": target}, alice)

    def move(path: str) -> Callable[[], Any]:
        return lambda: FileDescriptions.move.call({"id": file_id, "new_path": path}, alice)

    def delete() -> Any:
        return FileDescriptions.delete.call({"id": file_id}, alice)

    return run_at_once(
        {
            "share bob": share("bob"),
            "share carol": share("carol"),
            "share bob again": share("bob"),
            "move": move(f"/r{round_}/b"),
            "move onto taken": move(f"/r{round_}/taken"),
            "delete": delete,
            "delete again": delete,
        }
    )


def test_concurrent_share_move_and_delete_end_in_404_or_409_never_500():
    require(connection.vendor == "postgresql", "PostgreSQL as the default database")
    seen: Counter[tuple[str, int]] = Counter()
    for round_ in range(8):
        statuses = one_round(round_)
        seen.update(statuses.items())
        assert sorted([statuses["delete"], statuses["delete again"]]) == [200, 404]
        assert statuses["move onto taken"] in (404, 409)
        assert {statuses[name] for name in statuses} <= {200, 404, 409}, statuses
    # The file and every share went with the one delete that succeeded.
    assert not File.objects.exclude(path__endswith="/taken").exists()
    assert not Share.objects.exists()
    assert not any(status >= 500 for _, status in seen), seen
