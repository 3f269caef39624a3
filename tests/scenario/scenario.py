"""One scenario through the public HTTP API of accounts, files and notifications.

It only talks to an ``Api`` driver, so the same steps run in one process,
with every call between services forced over HTTP, or against separate
server processes::

    run_scenario(InProcessApi(), admin=Credentials("admin", "admin-password"))
    run_scenario(HttpApi(gateway_url), admin=admin, notification_wait=30.0)

Every step asserts the status and the body (error codes and field errors).
``notification_wait`` is for deployments whose events reach notifications
asynchronously (a broker and workers): the notification step first waits, up
to that many seconds, until every expected notification has arrived, then
asserts exactly the same as with in-process delivery.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from ucloud.testing import Api, ApiResponse, Credentials

# Share calls in the scenario that pass the owner check; each makes files ask
# accounts.retrieve_user (as the files service) whether the target exists.
USER_LOOKUPS_BY_FILES = 2

ALICE = "alice"
BOB = "bob"
# The longest path allowed, of characters that do not compress: a database
# index over the raw path (rather than a hash of it) cannot hold it.
LONGEST_PATH = "/" + "".join(hashlib.sha256(bytes([i])).hexdigest() for i in range(64))[:4095]


@dataclass(frozen=True)
class Tokens:
    admin: str
    alice: str
    bob: str


def expect_ok(response: ApiResponse, status: int = 200) -> Any:
    """The body of a successful response, after checking its status."""
    got, body = response
    assert got == status, f"expected {status}, got {got}: {body!r}"
    return body


def expect_error(
    response: ApiResponse, status: int, error_code: str, fields: set[str] | None = None
) -> dict[str, Any]:
    """Check an error body: ``why``, ``error_code`` and exactly ``fields`` in errors."""
    got, body = response
    assert got == status, f"expected {status} {error_code}, got {got}: {body!r}"
    assert isinstance(body, dict), f"error body is not a JSON object: {body!r}"
    assert body["error_code"] == error_code, body
    assert isinstance(body["why"], str), body
    assert body["why"], body
    if fields is None:
        assert "errors" not in body, body
    else:
        assert set(body["errors"]) == fields, body
    return body


def run_scenario(api: Api, *, admin: Credentials, notification_wait: float = 0.0) -> None:
    """Every step of the scenario, in order; fails on the first wrong answer.

    ``notification_wait`` > 0: poll up to that many seconds for the
    notifications to arrive before checking them (asynchronous delivery).
    """
    tokens = _set_up_accounts(api, admin)
    _check_authentication(api, tokens)
    alice_files = _create_files(api, tokens)
    _browse_and_retrieve(api, tokens, alice_files)
    _share(api, tokens, alice_files["/docs/a.txt"])
    _move(api, tokens, alice_files["/docs/a.txt"])
    _delete(api, tokens, alice_files["/docs/a.txt"])
    if notification_wait > 0:
        _wait_for_notifications(api, tokens, notification_wait)
    _notifications(api, tokens)
    _unknown_routes(api)


def login(api: Api, credentials: Credentials) -> dict[str, str]:
    body = expect_ok(
        api.request(
            "POST",
            "/api/accounts/login",
            json={"username": credentials.username, "password": credentials.password},
        )
    )
    assert set(body) == {"access_token", "refresh_token"}, body
    assert all(isinstance(value, str) and value for value in body.values()), body
    return dict(body)


def whoami(api: Api, token: str) -> dict[str, str]:
    return dict(expect_ok(api.request("GET", "/api/accounts/whoami", token=token)))


def _set_up_accounts(api: Api, admin: Credentials) -> Tokens:
    admin_token = login(api, admin)["access_token"]
    assert whoami(api, admin_token) == {"username": admin.username, "role": "ADMIN"}
    users: dict[str, str] = {}
    for username in (ALICE, BOB):
        password = f"{username}-password-1"
        new_user = {"username": username, "password": password, "role": "USER"}
        created = api.request("POST", "/api/accounts/users", json=new_user, token=admin_token)
        assert expect_ok(created) == {"username": username, "role": "USER"}
        again = api.request("POST", "/api/accounts/users", json=new_user, token=admin_token)
        expect_error(again, 409, "user_exists")
        users[username] = login(api, Credentials(username, password))["access_token"]
    invalid = {"username": "has space", "password": "x", "role": "KING"}
    expect_error(
        api.request("POST", "/api/accounts/users", json=invalid, token=admin_token),
        400,
        "invalid_request",
        {"username", "password", "role"},  # the contract states the password length
    )
    return Tokens(admin=admin_token, alice=users[ALICE], bob=users[BOB])


def _check_authentication(api: Api, tokens: Tokens) -> None:
    wrong = {"username": ALICE, "password": "not-her-password"}
    expect_error(api.request("POST", "/api/accounts/login", json=wrong), 401, "bad_credentials")
    nobody = {"username": "nobody", "password": "whatever-1"}
    expect_error(api.request("POST", "/api/accounts/login", json=nobody), 401, "bad_credentials")

    pair = login(api, Credentials(ALICE, f"{ALICE}-password-1"))
    refreshed = expect_ok(
        api.request("POST", "/api/accounts/refresh", json={"refresh_token": pair["refresh_token"]})
    )
    assert set(refreshed) == {"access_token", "refresh_token"}, refreshed
    assert whoami(api, refreshed["access_token"]) == {"username": ALICE, "role": "USER"}
    # The refresh token was used up; its successor ends with a logout.
    used = {"refresh_token": pair["refresh_token"]}
    expect_error(api.request("POST", "/api/accounts/refresh", json=used), 401, "token_reused")
    logout = {"refresh_token": refreshed["refresh_token"]}
    assert expect_ok(api.request("POST", "/api/accounts/logout", json=logout)) == {}
    expect_error(api.request("POST", "/api/accounts/refresh", json=logout), 401, "token_revoked")
    # Each kind of token is good for its own purpose only.
    as_access = api.request("GET", "/api/accounts/whoami", token=pair["refresh_token"])
    expect_error(as_access, 401, "invalid_token")
    as_refresh = {"refresh_token": pair["access_token"]}
    expect_error(
        api.request("POST", "/api/accounts/refresh", json=as_refresh), 401, "invalid_token"
    )

    assert whoami(api, tokens.bob) == {"username": BOB, "role": "USER"}
    expect_error(api.request("GET", "/api/accounts/whoami"), 401, "unauthorized")
    garbage = api.request("GET", "/api/accounts/whoami", token="not.a.jwt")
    expect_error(garbage, 401, "invalid_token")
    expect_error(api.request("GET", "/api/files/browse"), 401, "unauthorized")

    new_user = {"username": "mallory", "password": "mallory-password-1", "role": "ADMIN"}
    by_user = api.request("POST", "/api/accounts/users", json=new_user, token=tokens.alice)
    expect_error(by_user, 403, "forbidden")


def create_file(api: Api, token: str, path: str, size: int) -> dict[str, Any]:
    body = expect_ok(
        api.request("POST", "/api/files", json={"path": path, "size": size}, token=token)
    )
    assert set(body) == {"id", "path", "size", "owner", "shared_with", "created_at"}, body
    assert isinstance(body["id"], int), body
    assert (body["path"], body["size"], body["shared_with"]) == (path, size, []), body
    assert isinstance(body["created_at"], str), body
    return dict(body)


def _create_files(api: Api, tokens: Tokens) -> dict[str, dict[str, Any]]:
    """Alice's three files (by path) and one of bob's at a path alice also uses."""
    files = {
        path: create_file(api, tokens.alice, path, size)
        for path, size in (("/docs/a.txt", 12), ("/docs/b.txt", 0), ("/music/c.mp3", 4096))
    }
    assert {file["owner"] for file in files.values()} == {ALICE}
    bobs = create_file(api, tokens.bob, "/docs/a.txt", 7)
    assert bobs["owner"] == BOB
    _reject_bad_creates(api, tokens.alice)
    return files


def _reject_bad_creates(api: Api, token: str) -> None:
    def create(**kwargs: Any) -> ApiResponse:
        return api.request("POST", "/api/files", token=token, **kwargs)

    expect_error(create(content=b'{"path": "/x", '), 400, "malformed_body")
    wrong_types = {"path": ["/x"], "size": "big"}
    body = expect_error(create(json=wrong_types), 400, "invalid_request", {"path", "size"})
    assert body["errors"]["size"] == ["A valid integer is required."], body
    body = expect_error(create(json={}), 400, "invalid_request", {"path", "size"})
    assert body["errors"] == {
        "path": ["This field is required."],
        "size": ["This field is required."],
    }, body
    expect_error(create(json={"path": "/x", "size": -1}), 400, "invalid_request", {"size"})
    bad_paths = ("docs/relative.txt", "/docs/../escape.txt", "/docs//empty.txt", "/" + "p" * 4096)
    for path in bad_paths:
        response = create(json={"path": path, "size": 1})
        expect_error(response, 400, "invalid_request", {"path"})
    assert create_file(api, token, LONGEST_PATH, 1)["path"] == LONGEST_PATH
    for taken in ("/docs/a.txt", LONGEST_PATH):
        expect_error(create(json={"path": taken, "size": 1}), 409, "path_exists")


def browse(api: Api, token: str, **params: Any) -> dict[str, Any]:
    body = expect_ok(api.request("GET", "/api/files/browse", params=params, token=token))
    assert set(body) == {"items", "next"}, body
    return dict(body)


def browse_all(api: Api, token: str, items_per_page: int) -> list[dict[str, Any]]:
    """Every item, page by page; checks that no page is larger than asked."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"items_per_page": items_per_page}
    while True:
        page = browse(api, token, **params)
        assert len(page["items"]) <= items_per_page, page
        items.extend(page["items"])
        if page["next"] is None:
            return items
        params["next"] = page["next"]


def _browse_and_retrieve(api: Api, tokens: Tokens, files: dict[str, dict[str, Any]]) -> None:
    first = browse(api, tokens.alice, items_per_page=2)
    assert [item["path"] for item in first["items"]] == ["/docs/a.txt", "/docs/b.txt"]
    assert isinstance(first["next"], str), first
    rest = browse(api, tokens.alice, items_per_page=2, next=first["next"])
    assert [item["path"] for item in rest["items"]] == ["/music/c.mp3", LONGEST_PATH]
    assert rest["next"] is None, rest
    # Alice sees only her own files; bob's file at the same path is not among them.
    all_items = browse_all(api, tokens.alice, items_per_page=3)
    assert all(item["owner"] == ALICE for item in all_items)
    assert len(all_items) == 4
    bobs = browse_all(api, tokens.bob, items_per_page=50)
    assert [(item["owner"], item["path"]) for item in bobs] == [(BOB, "/docs/a.txt")]

    wrong_size = api.request(
        "GET", "/api/files/browse", params={"items_per_page": 0}, token=tokens.alice
    )
    expect_error(wrong_size, 400, "invalid_request", {"items_per_page"})
    wrong_next = api.request("GET", "/api/files/browse", params={"next": "x"}, token=tokens.alice)
    expect_error(wrong_next, 400, "invalid_request", {"next"})

    file = files["/docs/a.txt"]
    assert retrieve(api, tokens.alice, file["id"]) == file
    expect_error(_retrieve(api, tokens.bob, file["id"]), 404, "unknown_file")
    expect_error(_retrieve(api, tokens.alice, 10**9), 404, "unknown_file")
    expect_error(_retrieve(api, tokens.alice, "abc"), 400, "invalid_request", {"id"})


def _retrieve(api: Api, token: str, file_id: Any) -> ApiResponse:
    return api.request("GET", "/api/files/retrieve", params={"id": file_id}, token=token)


def retrieve(api: Api, token: str, file_id: int) -> dict[str, Any]:
    return dict(expect_ok(_retrieve(api, token, file_id)))


def _share(api: Api, tokens: Tokens, file: dict[str, Any]) -> None:
    def share(token: str, username: str) -> ApiResponse:
        body = {"id": file["id"], "username": username}
        return api.request("POST", "/api/files/share", json=body, token=token)

    shared = expect_ok(share(tokens.alice, BOB))
    assert shared == {**file, "shared_with": [BOB]}
    bobs_view = browse_all(api, tokens.bob, items_per_page=1)
    assert [(item["owner"], item["path"]) for item in bobs_view] == [
        (ALICE, "/docs/a.txt"),
        (BOB, "/docs/a.txt"),
    ]
    assert retrieve(api, tokens.bob, file["id"]) == shared

    # Bob may read alice's file but not change it.
    move = {"id": file["id"], "new_path": "/stolen.txt"}
    expect_error(
        api.request("POST", "/api/files/move", json=move, token=tokens.bob), 403, "not_owner"
    )
    delete = api.request("DELETE", "/api/files", json={"id": file["id"]}, token=tokens.bob)
    expect_error(delete, 403, "not_owner")
    expect_error(share(tokens.bob, ALICE), 403, "not_owner")

    # accounts answers 404 for an unknown user; files passes its code on.
    expect_error(share(tokens.alice, "nobody"), 404, "unknown_user")
    expect_error(share(tokens.alice, ALICE), 400, "invalid_request", {"username"})
    assert retrieve(api, tokens.alice, file["id"])["shared_with"] == [BOB]


def _move(api: Api, tokens: Tokens, file: dict[str, Any]) -> None:
    def move(new_path: str) -> ApiResponse:
        body = {"id": file["id"], "new_path": new_path}
        return api.request("POST", "/api/files/move", json=body, token=tokens.alice)

    expect_error(move("/docs/b.txt"), 409, "path_exists")
    expect_error(move("archive/a.txt"), 400, "invalid_request", {"new_path"})
    moved = expect_ok(move("/archive/a.txt"))
    assert moved == {**file, "path": "/archive/a.txt", "shared_with": [BOB]}
    assert retrieve(api, tokens.alice, file["id"])["path"] == "/archive/a.txt"
    assert retrieve(api, tokens.bob, file["id"])["path"] == "/archive/a.txt"


def _delete(api: Api, tokens: Tokens, file: dict[str, Any]) -> None:
    def delete() -> ApiResponse:
        return api.request("DELETE", "/api/files", json={"id": file["id"]}, token=tokens.alice)

    assert expect_ok(delete()) == {}
    expect_error(_retrieve(api, tokens.alice, file["id"]), 404, "unknown_file")
    expect_error(_retrieve(api, tokens.bob, file["id"]), 404, "unknown_file")
    expect_error(delete(), 404, "unknown_file")
    bobs_view = browse_all(api, tokens.bob, items_per_page=10)
    assert [(item["owner"], item["path"]) for item in bobs_view] == [(BOB, "/docs/a.txt")]


def browse_notifications(api: Api, token: str, **params: Any) -> dict[str, Any]:
    path = "/api/notifications/browse"
    body = expect_ok(api.request("GET", path, params=params, token=token))
    assert set(body) == {"items", "next"}, body
    return dict(body)


# How many notifications the scenario's file events give each user.
EXPECTED_NOTIFICATIONS = {ALICE: 6, BOB: 2}
NOTIFICATION_POLL_INTERVAL = 0.2


def _wait_for_notifications(api: Api, tokens: Tokens, timeout: float) -> None:
    """Poll until alice and bob have at least their expected notifications.

    Only waits: ``_notifications`` then checks the exact lists, so a missing
    or duplicated notification still fails the scenario.
    """
    give_up = time.monotonic() + timeout
    for username, token in ((ALICE, tokens.alice), (BOB, tokens.bob)):
        while True:
            found = browse_notifications(api, token, items_per_page=100)["items"]
            if len(found) >= EXPECTED_NOTIFICATIONS[username] or time.monotonic() > give_up:
                break
            time.sleep(NOTIFICATION_POLL_INTERVAL)


def _notifications(api: Api, tokens: Tokens) -> None:
    """files events reached notifications: each effect exactly once, newest first."""

    def mark_read(token: str, ids: Any) -> ApiResponse:
        body = {"ids": ids}
        return api.request("POST", "/api/notifications/mark_read", json=body, token=token)

    alice = browse_notifications(api, tokens.alice, items_per_page=100)
    assert alice["next"] is None
    # Four creates (three files and the longest path), the move, the delete.
    kinds = [note["type"] for note in alice["items"]]
    assert kinds == ["file_deleted", "file_moved", *["file_created"] * 4], alice
    assert alice["items"][0]["message"] == "You deleted /archive/a.txt"
    assert alice["items"][1]["message"] == "You moved /docs/a.txt to /archive/a.txt"
    assert not any(note["read"] for note in alice["items"])
    bob = browse_notifications(api, tokens.bob)
    assert [(note["type"], note["message"]) for note in bob["items"]] == [
        ("file_shared", f"{ALICE} shared /docs/a.txt with you"),
        ("file_created", "You created /docs/a.txt"),
    ]

    first = browse_notifications(api, tokens.alice, items_per_page=4)
    second = browse_notifications(api, tokens.alice, items_per_page=4, next=first["next"])
    assert second["next"] is None
    assert first["items"] + second["items"] == alice["items"]

    newest = [note["id"] for note in alice["items"][:2]]
    assert expect_ok(mark_read(tokens.bob, newest)) == {"updated": 0}
    assert expect_ok(mark_read(tokens.alice, newest)) == {"updated": 2}
    assert expect_ok(mark_read(tokens.alice, newest)) == {"updated": 0}
    unread = browse_notifications(api, tokens.alice, unread_only="true")
    assert unread["items"] == alice["items"][2:]

    expect_error(mark_read(tokens.alice, []), 400, "invalid_request", {"ids"})
    expect_error(mark_read(tokens.alice, ["x"]), 400, "invalid_request", {"ids"})
    expect_error(api.request("GET", "/api/notifications/browse"), 401, "unauthorized")


def _unknown_routes(api: Api) -> None:
    expect_error(api.request("GET", "/api/files/no-such-call"), 404, "not_found")
    expect_error(api.request("POST", "/api/nothing/here", json={}), 404, "not_found")
    expect_error(api.request("GET", "/api/files"), 405, "method_not_allowed")
    status, body = api.request("GET", "/status")
    assert status == 200, body
    assert body["status"] == "ok", body
    assert body["dependencies"]["database"] == {"ok": True}, body
