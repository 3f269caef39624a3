"""The files calls over HTTP (Django test client) and in process (descriptions)."""

from __future__ import annotations

import json

import pytest

from apps.accounts.services import user_create
from apps.files.api import FileDescriptions
from ucloud.auth.tokens import mint_access_token
from ucloud.contracts.errors import RPCException
from ucloud.contracts.roles import Role
from ucloud.rpc.client import RPCClient

pytestmark = pytest.mark.django_db

JSON = "application/json"


@pytest.fixture(autouse=True)
def users() -> None:
    for username in ("alice", "bob", "carol"):
        user_create(username=username, password="correct-horse-battery", role="USER")


class Caller:
    """A user of the HTTP API, with a bearer token."""

    def __init__(self, client, username: str, role: Role = Role.USER) -> None:
        self.client = client
        self.auth = {"HTTP_AUTHORIZATION": f"Bearer {mint_access_token(username, role)}"}

    def get(self, path: str, **query):
        return self.client.get(path, query, **self.auth)

    def send(self, method: str, path: str, data):
        return getattr(self.client, method)(
            path, data=json.dumps(data), content_type=JSON, **self.auth
        )

    def create(self, path: str = "/a.txt", size: int = 3) -> dict:
        response = self.send("post", "/api/files", {"path": path, "size": size})
        assert response.status_code == 200, response.content
        return response.json()


@pytest.fixture
def alice(client) -> Caller:
    return Caller(client, "alice")


@pytest.fixture
def bob(client) -> Caller:
    return Caller(client, "bob")


def test_create_then_retrieve(alice):
    file = alice.create("/docs/a.txt", 12)
    assert (file["path"], file["size"], file["owner"]) == ("/docs/a.txt", 12, "alice")
    assert alice.get("/api/files/retrieve", id=file["id"]).json() == file


@pytest.mark.parametrize("path", ["a.txt", "/a/../b", "/a/./b", "/a//b", "/a/", "/a\x00"])
def test_invalid_paths_are_400_with_path_errors(alice, path):
    response = alice.send("post", "/api/files", {"path": path, "size": 1})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["path"]


def test_path_of_4097_characters_is_too_long(alice):
    response = alice.send("post", "/api/files", {"path": "/" + "a" * 4096, "size": 1})
    assert response.status_code == 400
    assert "path" in response.json()["errors"]


def test_guest_cannot_create(client):
    response = client.post("/api/files", data='{"path": "/a", "size": 1}', content_type=JSON)
    assert response.status_code == 401


def test_browse_pages_with_next_tokens(alice):
    ids = [alice.create(f"/f{i}")["id"] for i in range(3)]
    first = alice.get("/api/files/browse", items_per_page=2).json()
    assert [f["id"] for f in first["items"]] == ids[:2]
    assert first["next"]
    second = alice.get("/api/files/browse", items_per_page=2, next=first["next"]).json()
    assert [f["id"] for f in second["items"]] == ids[2:]
    assert second["next"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"next": "bogus"}, "next"),
        ({"items_per_page": 0}, "items_per_page"),
        ({"items_per_page": 251}, "items_per_page"),
        ({"items_per_page": "many"}, "items_per_page"),
    ],
)
def test_invalid_browse_queries_are_400(alice, query, field):
    response = alice.get("/api/files/browse", **query)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_others_files_are_404(alice, bob):
    file = alice.create()
    assert bob.get("/api/files/retrieve", id=file["id"]).status_code == 404
    assert bob.send("delete", "/api/files", {"id": file["id"]}).status_code == 404
    assert bob.get("/api/files/browse").json() == {"items": [], "next": None}


def test_shared_user_reads_but_writes_are_403(alice, bob):
    file = alice.create()
    shared = alice.send("post", "/api/files/share", {"id": file["id"], "username": "bob"})
    assert shared.json()["shared_with"] == ["bob"]
    assert bob.get("/api/files/retrieve", id=file["id"]).status_code == 200
    assert [f["id"] for f in bob.get("/api/files/browse").json()["items"]] == [file["id"]]
    for method, path, data in [
        ("post", "/api/files/move", {"id": file["id"], "new_path": "/b"}),
        ("delete", "/api/files", {"id": file["id"]}),
        ("post", "/api/files/share", {"id": file["id"], "username": "carol"}),
    ]:
        response = bob.send(method, path, data)
        assert (response.status_code, response.json()["error_code"]) == (403, "not_owner")


def test_move_and_move_conflict(alice):
    file = alice.create("/a")
    alice.create("/b")
    moved = alice.send("post", "/api/files/move", {"id": file["id"], "new_path": "/c"})
    assert moved.json()["path"] == "/c"
    conflict = alice.send("post", "/api/files/move", {"id": file["id"], "new_path": "/b"})
    assert (conflict.status_code, conflict.json()["error_code"]) == (409, "path_exists")


def test_create_conflict_is_409(alice):
    alice.create("/a")
    response = alice.send("post", "/api/files", {"path": "/a", "size": 1})
    assert response.status_code == 409


def test_delete_with_a_json_body(alice):
    file = alice.create()
    response = alice.send("delete", "/api/files", {"id": file["id"]})
    assert (response.status_code, response.json()) == (200, {})
    assert alice.get("/api/files/retrieve", id=file["id"]).status_code == 404


def test_share_with_self_unknown_user_and_twice(alice):
    file = alice.create()
    to_self = alice.send("post", "/api/files/share", {"id": file["id"], "username": "alice"})
    assert to_self.status_code == 400
    assert "username" in to_self.json()["errors"]
    unknown = alice.send("post", "/api/files/share", {"id": file["id"], "username": "ghost"})
    assert (unknown.status_code, unknown.json()["error_code"]) == (404, "unknown_user")
    for _ in range(2):
        again = alice.send("post", "/api/files/share", {"id": file["id"], "username": "bob"})
        assert again.json()["shared_with"] == ["bob"]


def test_calls_in_process_behave_like_http():
    alice = RPCClient.for_token(mint_access_token("alice", Role.USER))
    bob = RPCClient.for_token(mint_access_token("bob", Role.USER))
    file = FileDescriptions.create.call({"path": "/a", "size": 1}, alice)
    with pytest.raises(RPCException) as info:
        FileDescriptions.retrieve.call({"id": file["id"]}, bob)
    assert info.value.status == 404
    FileDescriptions.share.call({"id": file["id"], "username": "bob"}, alice)
    page = FileDescriptions.browse.call({"items_per_page": 5}, bob)
    assert [f["id"] for f in page["items"]] == [file["id"]]
    assert FileDescriptions.delete.call({"id": file["id"]}, alice) == {}


def test_admin_is_an_end_user_too(client):
    admin = Caller(client, "root", Role.ADMIN)
    assert admin.create()["owner"] == "root"


def test_services_cannot_call_end_user_calls():
    with pytest.raises(RPCException) as info:
        FileDescriptions.browse.call({}, RPCClient.for_service("accounts"))
    assert info.value.status == 403
