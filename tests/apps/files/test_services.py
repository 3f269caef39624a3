"""Business logic of files: paths, pages, visibility, ownership and sharing."""

from __future__ import annotations

import random
import string

import pytest

from apps.accounts.services import user_create
from apps.files import services
from apps.files.api import MAX_PATH_LENGTH, CreateFileRequest, MoveFileRequest
from ucloud.contracts.errors import BadRequest, Conflict, Forbidden, NotFound, RPCException
from ucloud.rpc.client import RPCClient

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


@pytest.mark.parametrize(
    ("path", "valid"),
    [
        ("/a", True),
        ("/docs/report.txt", True),
        ("/.hidden/..dots../a.b", True),
        ("/with space/ü", True),
        ("/" + "a" * (MAX_PATH_LENGTH - 1), True),
        ("/" + "a" * MAX_PATH_LENGTH, False),  # 4097 characters
        ("relative/a", False),
        ("", False),
        ("/", False),
        ("/a/../b", False),
        ("/..", False),
        ("/a/./b", False),
        ("/.", False),
        ("/a//b", False),
        ("//a", False),
        ("/a/", False),
        ("/a\x00b", False),
    ],
)
def test_path_validation(path, valid):
    request = CreateFileRequest(data={"path": path, "size": 1})
    assert request.is_valid() is valid
    if not valid:
        assert list(request.errors) == ["path"]
    move = MoveFileRequest(data={"id": 1, "new_path": path})
    assert move.is_valid() is valid


@pytest.mark.parametrize("size", [-1, 2**63, "big"])
def test_size_must_be_a_non_negative_64_bit_integer(size):
    assert not CreateFileRequest(data={"path": "/a", "size": size}).is_valid()


@pytest.fixture
def accounts() -> RPCClient:
    """The client files uses to ask accounts about users, with alice and bob known."""
    for username in ("alice", "bob", "carol"):
        user_create(username=username, password=PASSWORD, role="USER")
    return RPCClient.for_service("files")


def create(owner: str = "alice", path: str = "/a.txt", size: int = 3) -> dict:
    return services.file_create(owner=owner, path=path, size=size)


def fails(error: type[RPCException], code: str, function, **kwargs) -> RPCException:
    with pytest.raises(error) as info:
        function(**kwargs)
    assert info.value.error_code == code
    return info.value


def test_create_returns_the_file():
    file = create(size=12)
    assert file["path"] == "/a.txt"
    assert (file["size"], file["owner"], file["shared_with"]) == (12, "alice", [])
    assert file["created_at"] is not None


def test_longest_path_is_stored():
    # Random letters: the database cannot compress them to fit an index.
    rng = random.Random(4096)
    path = "/" + "".join(rng.choices(string.ascii_letters, k=MAX_PATH_LENGTH - 1))
    file = create(path=path)
    assert file["path"] == path
    assert services.file_retrieve(username="alice", id=file["id"])["path"] == path


def test_same_path_twice_for_one_owner_is_409():
    create()
    error = fails(Conflict, "path_exists", create)
    assert error.status == 409


def test_same_path_for_two_owners_is_fine():
    create(owner="alice")
    assert create(owner="bob")["owner"] == "bob"


def test_browse_pages_through_own_files_in_order():
    ids = [create(path=f"/f{i}")["id"] for i in range(5)]
    first = services.file_browse(username="alice", items_per_page=2)
    assert [f["id"] for f in first["items"]] == ids[:2]
    second = services.file_browse(username="alice", items_per_page=2, next=first["next"])
    assert [f["id"] for f in second["items"]] == ids[2:4]
    last = services.file_browse(username="alice", items_per_page=2, next=second["next"])
    assert [f["id"] for f in last["items"]] == ids[4:]
    assert last["next"] is None


def test_browse_with_an_exact_page_has_no_next():
    create(path="/1")
    create(path="/2")
    assert services.file_browse(username="alice", items_per_page=2)["next"] is None


def test_browse_with_an_invalid_next_is_400():
    error = fails(
        BadRequest,
        "invalid_request",
        services.file_browse,
        username="alice",
        items_per_page=2,
        next="not-a-token",
    )
    assert error.errors == {"next": ["Not a valid page token."]}


def test_browse_shows_own_and_shared_files_only(accounts):
    mine = create(owner="bob", path="/mine")
    shared = create(owner="alice", path="/shared")
    create(owner="carol", path="/private")
    services.file_share(username="alice", id=shared["id"], target="bob", accounts=accounts)
    page = services.file_browse(username="bob", items_per_page=10)
    assert [f["id"] for f in page["items"]] == [mine["id"], shared["id"]]


def test_a_file_shared_with_two_users_is_listed_once(accounts):
    file = create()
    for target in ("bob", "carol"):
        services.file_share(username="alice", id=file["id"], target=target, accounts=accounts)
    page = services.file_browse(username="alice", items_per_page=10)
    assert [f["shared_with"] for f in page["items"]] == [["bob", "carol"]]


def test_others_files_are_404():
    file = create()
    for function in (services.file_retrieve, services.file_delete):
        fails(NotFound, "unknown_file", function, username="bob", id=file["id"])
    fails(
        NotFound, "unknown_file", services.file_move, username="bob", id=file["id"], new_path="/b"
    )


def test_unknown_id_is_404():
    fails(NotFound, "unknown_file", services.file_retrieve, username="alice", id=999999)


def test_shared_user_reads_but_cannot_change(accounts):
    file = create()
    services.file_share(username="alice", id=file["id"], target="bob", accounts=accounts)
    assert services.file_retrieve(username="bob", id=file["id"])["owner"] == "alice"
    fails(Forbidden, "not_owner", services.file_move, username="bob", id=file["id"], new_path="/b")
    fails(Forbidden, "not_owner", services.file_delete, username="bob", id=file["id"])
    fails(
        Forbidden,
        "not_owner",
        services.file_share,
        username="bob",
        id=file["id"],
        target="carol",
        accounts=accounts,
    )


def test_move_renames_the_file():
    file = create()
    moved = services.file_move(username="alice", id=file["id"], new_path="/b.txt")
    assert (moved["id"], moved["path"]) == (file["id"], "/b.txt")
    assert services.file_retrieve(username="alice", id=file["id"])["path"] == "/b.txt"


def test_move_onto_an_existing_path_is_409_and_changes_nothing():
    file = create(path="/a")
    create(path="/b")
    fails(
        Conflict, "path_exists", services.file_move, username="alice", id=file["id"], new_path="/b"
    )
    assert services.file_retrieve(username="alice", id=file["id"])["path"] == "/a"


def test_delete_removes_the_file_and_its_shares(accounts):
    file = create()
    services.file_share(username="alice", id=file["id"], target="bob", accounts=accounts)
    services.file_delete(username="alice", id=file["id"])
    fails(NotFound, "unknown_file", services.file_retrieve, username="alice", id=file["id"])
    assert services.file_browse(username="bob", items_per_page=10)["items"] == []


def test_share_with_self_is_400(accounts):
    file = create()
    error = fails(
        BadRequest,
        "invalid_request",
        services.file_share,
        username="alice",
        id=file["id"],
        target="alice",
        accounts=accounts,
    )
    assert "username" in error.errors


def test_share_with_an_unknown_user_is_404(accounts):
    file = create()
    error = fails(
        RPCException,
        "unknown_user",
        services.file_share,
        username="alice",
        id=file["id"],
        target="ghost",
        accounts=accounts,
    )
    assert error.status == 404
    assert services.file_retrieve(username="alice", id=file["id"])["shared_with"] == []


def test_share_is_idempotent(accounts):
    file = create()
    first = services.file_share(username="alice", id=file["id"], target="bob", accounts=accounts)
    again = services.file_share(username="alice", id=file["id"], target="bob", accounts=accounts)
    assert first["shared_with"] == again["shared_with"] == ["bob"]
