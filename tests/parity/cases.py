"""The parity cases: every call of every service, with the callers and inputs to try.

A ``World`` is built from scratch before each run (users, files, their
notifications, tokens), so that one process and HTTP see the same state;
``CASES`` then run in order, each a call, a caller and a request::

    world = build_world()
    outcome = run_case(case, world)     # ("ok", data) or (class, status, body)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.test import override_settings

from apps.accounts import services as accounts
from apps.accounts.api import AccountDescriptions as Accounts
from apps.audit.api import AuditDescriptions as Audit
from apps.files import services as files
from apps.files.api import FileDescriptions as Files
from apps.notifications.api import NotificationDescriptions as Notifications
from ucloud.auth.credentials import service_token
from ucloud.auth.principal import Principal
from ucloud.auth.tokens import decode_access_token, decode_refresh_token, mint_access_token
from ucloud.contracts.calls import CallDescription
from ucloud.contracts.errors import RPCException
from ucloud.contracts.roles import Role
from ucloud.rpc.client import RPCClient

PASSWORD = "a-long-enough-password"
LOGIN_FAILURES_ALLOWED = 3


@dataclass
class World:
    clients: dict[str, RPCClient]
    # Names -> ids of the files made for the run, and spare refresh tokens.
    ids: dict[str, int]
    refresh: dict[str, str]


def _expired_token(username: str) -> str:
    with override_settings(UCLOUD={**settings.UCLOUD, "ACCESS_TOKEN_LIFETIME": -60}):
        return mint_access_token(username, Role.USER)


def _clients(refresh_as_access: str) -> dict[str, RPCClient]:
    def user(name: str, role: Role = Role.USER, **kwargs: Any) -> RPCClient:
        return RPCClient.for_token(mint_access_token(name, role, **kwargs))

    # files' token for notifications, as notifications received it.
    received = decode_access_token(
        service_token("files", audience="notifications"), audiences={"notifications"}
    )
    return {
        "guest": RPCClient(),
        "alice": user("alice"),
        "bob": user("bob"),
        "eve": user("eve"),
        "admin": user("admin", Role.ADMIN),
        "alice_read_only": user("alice", scopes=("files:read", "accounts:read")),
        "files": RPCClient.for_service("files"),
        "notifications": RPCClient.for_service("notifications"),
        # A long-lived client whose token ran out after it was made.
        "expired": RPCClient(
            Principal("alice", Role.USER, token=_expired_token("alice"), audience="ucloud")
        ),
        # files' token meant for accounts, presented to others.
        "foreign": RPCClient.for_token(service_token("files", audience="accounts")),
        # notifications passing on files, which called it.
        "forwarded": RPCClient(received, forwarded_by="notifications"),
        # The same principal passed on by someone who is not its audience.
        "misforwarded": RPCClient(received),
        "refresh_as_access": RPCClient(
            Principal("alice", Role.USER, token=refresh_as_access, audience="ucloud")
        ),
        "garbage": RPCClient(Principal("alice", Role.USER, token="not.a.jwt", audience="ucloud")),
    }


def build_world() -> World:
    """Users, files, shares and their notifications, made through the services."""
    accounts.user_create(username="admin", password=PASSWORD, role="ADMIN")
    for name in ("alice", "bob", "carol", "dave", "eve"):
        accounts.user_create(username=name, password=PASSWORD, role="USER")
    ids = {
        "a": files.file_create(owner="alice", path="/a.txt", size=1)["id"],
        "b": files.file_create(owner="alice", path="/b.txt", size=2)["id"],
        "c": files.file_create(owner="alice", path="/c.txt", size=3)["id"],
        "bob": files.file_create(owner="bob", path="/bob.txt", size=4)["id"],
    }
    files.file_share(
        username="alice", id=ids["b"], target="bob", accounts=RPCClient.for_service("files")
    )
    refresh = {
        name: accounts.user_login(username="alice", password=PASSWORD)["refresh_token"]
        for name in ("rotate", "logout", "as_access")
    }
    return World(_clients(refresh["as_access"]), ids, refresh)


Request = Any | Callable[[World], Any]


@dataclass(frozen=True)
class Case:
    call: CallDescription
    caller: str
    request: Request

    def request_in(self, world: World) -> Any:
        return self.request(world) if callable(self.request) else self.request


def _masked(value: Any) -> Any:
    """Data with what differs by nature from run to run replaced by what it stands for."""
    if isinstance(value, dict):
        return {key: _mask(key, item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def _mask(key: str, value: Any) -> Any:
    if key == "created_at" and isinstance(value, str):
        return "<time>"
    if key == "access_token":
        principal = decode_access_token(value)
        return ("access token of", principal.username, principal.role.value)
    if key == "refresh_token":
        return ("refresh token of", decode_refresh_token(value).username)
    return _masked(value)


def run_case(case: Case, world: World) -> tuple[Any, ...]:
    """What the call answered: its data, or its exception's class, status and body."""
    try:
        return ("ok", _masked(case.call.call(case.request_in(world), world.clients[case.caller])))
    except RPCException as error:
        return (type(error), error.status, error.body())


def _id(name: str) -> Callable[[World], dict[str, int]]:
    return lambda world: {"id": world.ids[name]}


def _with_id(name: str, **more: Any) -> Callable[[World], dict[str, Any]]:
    return lambda world: {"id": world.ids[name], **more}


def _refresh(name: str) -> Callable[[World], dict[str, str]]:
    return lambda world: {"refresh_token": world.refresh[name]}


LOGIN = {"username": "alice", "password": PASSWORD}
WRONG = {"username": "dave", "password": "not-the-password"}

CASES: list[Case] = [
    # accounts.login: success, credentials, field errors, throttling (dave).
    Case(Accounts.login, "guest", LOGIN),
    Case(Accounts.login, "guest", {"username": "alice", "password": "nope"}),
    Case(Accounts.login, "guest", {"username": "ghost", "password": PASSWORD}),
    Case(Accounts.login, "guest", {"username": "alice"}),
    Case(Accounts.login, "guest", {"username": "x" * 151, "password": PASSWORD}),
    Case(Accounts.login, "guest", {"username": "alice", "password": ["a", "list"]}),
    Case(Accounts.login, "guest", ["not", "an", "object"]),
    *[Case(Accounts.login, "guest", WRONG) for _ in range(LOGIN_FAILURES_ALLOWED)],
    Case(Accounts.login, "guest", {**WRONG, "password": PASSWORD}),
    # accounts.refresh: rotation, reuse, wrong kinds of token.
    Case(Accounts.refresh, "guest", _refresh("rotate")),
    Case(Accounts.refresh, "guest", _refresh("rotate")),
    Case(Accounts.refresh, "guest", {"refresh_token": "not.a.jwt"}),
    Case(Accounts.refresh, "guest", {}),
    # accounts.logout
    Case(Accounts.logout, "guest", _refresh("logout")),
    Case(Accounts.refresh, "guest", _refresh("logout")),
    Case(Accounts.logout, "guest", {"refresh_token": "garbage"}),
    # accounts.whoami: every kind of caller and token.
    *[
        Case(Accounts.whoami, caller, {})
        for caller in (
            "alice",
            "admin",
            "files",
            "guest",
            "expired",
            "foreign",
            "forwarded",
            "misforwarded",
            "refresh_as_access",
            "garbage",
        )
    ],
    Case(Accounts.whoami, "alice", {"unexpected": "ignored"}),
    # accounts.create_user
    Case(Accounts.create_user, "admin", {"username": "frank", "password": PASSWORD}),
    Case(Accounts.create_user, "admin", {"username": "frank", "password": PASSWORD}),
    Case(Accounts.create_user, "admin", {"username": "gina", "password": "short"}),
    Case(Accounts.create_user, "admin", {"username": "bad name", "password": PASSWORD}),
    Case(
        Accounts.create_user, "admin", {"username": "hal", "password": PASSWORD, "role": "SERVICE"}
    ),
    Case(Accounts.create_user, "alice", {"username": "ivan", "password": PASSWORD}),
    Case(Accounts.create_user, "files", {"username": "ivan", "password": PASSWORD}),
    # accounts.retrieve_user: ADMIN and files only; forwarded files counts as files.
    Case(Accounts.retrieve_user, "admin", {"username": "bob"}),
    Case(Accounts.retrieve_user, "files", {"username": "bob"}),
    Case(Accounts.retrieve_user, "forwarded", {"username": "bob"}),
    Case(Accounts.retrieve_user, "notifications", {"username": "bob"}),
    Case(Accounts.retrieve_user, "alice", {"username": "bob"}),
    Case(Accounts.retrieve_user, "admin", {"username": "ghost"}),
    Case(Accounts.retrieve_user, "admin", {}),
    Case(Accounts.retrieve_user, "admin", {"username": "y" * 151}),
    # accounts.change_password (eve)
    Case(Accounts.change_password, "eve", {"old_password": "wrong", "new_password": PASSWORD}),
    Case(Accounts.change_password, "eve", {"old_password": PASSWORD, "new_password": "short"}),
    Case(Accounts.change_password, "eve", {"old_password": PASSWORD, "new_password": "x" * 20}),
    Case(Accounts.change_password, "guest", {"old_password": PASSWORD, "new_password": "y" * 20}),
    Case(Accounts.change_password, "files", {"old_password": PASSWORD, "new_password": "y" * 20}),
    # accounts.deactivate_user (carol)
    Case(Accounts.deactivate_user, "alice", {"username": "carol"}),
    Case(Accounts.deactivate_user, "admin", {"username": "carol"}),
    Case(Accounts.deactivate_user, "admin", {"username": "ghost"}),
    Case(Accounts.login, "guest", {"username": "carol", "password": PASSWORD}),
    # files.create
    Case(Files.create, "alice", {"path": "/new.txt", "size": 10}),
    Case(Files.create, "alice", {"path": "/new.txt", "size": 10}),
    Case(Files.create, "alice", {"path": "relative.txt", "size": 1}),
    Case(Files.create, "alice", {"path": "/a/../b", "size": 1}),
    Case(Files.create, "alice", {"path": "/x", "size": -1}),
    Case(Files.create, "alice", {"path": "/x", "size": "lots"}),
    Case(Files.create, "alice", {"path": "/x", "size": 2**63}),
    Case(Files.create, "alice", [1, 2]),
    Case(Files.create, "alice", {}),
    Case(Files.create, "alice_read_only", {"path": "/y", "size": 1}),
    *[
        Case(Files.create, caller, {"path": "/z", "size": 1})
        for caller in ("guest", "files", "expired", "foreign", "forwarded", "garbage")
    ],
    # files.browse: query strings, good and bad.
    Case(Files.browse, "alice", {}),
    Case(Files.browse, "bob", {}),
    Case(Files.browse, "alice", {"items_per_page": 1}),
    Case(Files.browse, "alice", {"items_per_page": "2", "next": "1"}),
    Case(Files.browse, "alice", {"items_per_page": "0"}),
    Case(Files.browse, "alice", {"items_per_page": "251"}),
    Case(Files.browse, "alice", {"items_per_page": "many"}),
    Case(Files.browse, "alice", {"next": "garbage"}),
    Case(Files.browse, "alice", {"next": "-5"}),
    Case(Files.browse, "alice", {"next": ""}),
    Case(Files.browse, "alice", {"next": None}),
    Case(Files.browse, "alice", {"unknown": "parameter"}),
    *[Case(Files.browse, caller, {}) for caller in ("guest", "expired", "foreign", "files")],
    # files.search: the index follows the files' events (eagerly, after commit).
    Case(Files.search, "alice", {"query": "txt"}),
    Case(Files.search, "bob", {"query": "TXT"}),
    Case(Files.search, "alice", {"query": "b txt"}),
    Case(Files.search, "alice", {"query": "txt", "items_per_page": 1}),
    Case(Files.search, "alice", {"query": "txt", "items_per_page": 1, "next": "1"}),
    Case(Files.search, "eve", {"query": "txt"}),
    Case(Files.search, "alice", {"query": "--- ..."}),
    Case(Files.search, "alice", {"query": ""}),
    Case(Files.search, "alice", {"query": "txt", "next": "page-two"}),
    Case(Files.search, "alice", {}),
    Case(Files.search, "alice_read_only", {"query": "a"}),
    *[Case(Files.search, caller, {"query": "txt"}) for caller in ("guest", "expired", "files")],
    # files.retrieve
    Case(Files.retrieve, "alice", _id("a")),
    Case(Files.retrieve, "bob", _id("b")),
    Case(Files.retrieve, "bob", _id("a")),
    Case(Files.retrieve, "alice", {"id": 999_999}),
    Case(Files.retrieve, "alice", {"id": "abc"}),
    Case(Files.retrieve, "alice", {"id": "-1"}),
    Case(Files.retrieve, "alice", {"id": "1.5"}),
    Case(Files.retrieve, "alice", {"id": str(2**64)}),
    Case(Files.retrieve, "alice", {}),
    Case(Files.retrieve, "alice_read_only", _id("a")),
    # files.move
    Case(Files.move, "alice", _with_id("a", new_path="/moved.txt")),
    Case(Files.move, "alice", _with_id("c", new_path="/moved.txt")),
    Case(Files.move, "bob", _with_id("b", new_path="/stolen.txt")),
    Case(Files.move, "alice", {"id": 999_999, "new_path": "/x"}),
    Case(Files.move, "alice", _with_id("c", new_path="no-slash")),
    Case(Files.move, "alice_read_only", _with_id("c", new_path="/ro.txt")),
    # files.share: the user is looked up in accounts (over HTTP too when forced).
    Case(Files.share, "alice", _with_id("c", username="bob")),
    Case(Files.share, "alice", _with_id("c", username="bob")),
    Case(Files.share, "alice", _with_id("c", username="alice")),
    Case(Files.share, "alice", _with_id("c", username="ghost")),
    Case(Files.share, "alice", _with_id("c", username="carol")),
    Case(Files.share, "bob", _with_id("b", username="eve")),
    Case(Files.share, "alice", _with_id("c", username="")),
    # files.delete
    Case(Files.delete, "bob", _id("b")),
    Case(Files.delete, "alice", _id("a")),
    Case(Files.delete, "alice", _id("a")),
    Case(Files.delete, "alice", {"id": 0}),
    Case(Files.delete, "guest", _id("c")),
    # notifications.browse: made by the files events of the world and the cases.
    Case(Notifications.browse, "alice", {}),
    Case(Notifications.browse, "bob", {"unread_only": True}),
    Case(Notifications.browse, "alice", {"items_per_page": 2}),
    Case(Notifications.browse, "alice", {"unread_only": "maybe"}),
    Case(Notifications.browse, "alice", {"items_per_page": "-3"}),
    *[Case(Notifications.browse, caller, {}) for caller in ("guest", "foreign", "notifications")],
    # notifications.mark_read
    Case(Notifications.mark_read, "alice", {"ids": [1, 2, 3, 999]}),
    Case(Notifications.mark_read, "alice", {"ids": [1, 2, 3]}),
    Case(Notifications.mark_read, "bob", {"ids": [1]}),
    Case(Notifications.mark_read, "alice", {"ids": []}),
    Case(Notifications.mark_read, "alice", {"ids": "1,2"}),
    Case(Notifications.mark_read, "alice", {"ids": [0]}),
    Case(Notifications.mark_read, "alice", {"ids": list(range(1, 1002))}),
    Case(Notifications.mark_read, "alice", {}),
    Case(Notifications.browse, "alice", {"unread_only": "true"}),
    # audit.browse and audit.search: administrators only; what the filters
    # match is the same in both runs (the records' times and ids are not).
    Case(Audit.browse, "admin", {"job_id": "no-such-job"}),
    Case(Audit.browse, "admin", {"status": "abc"}),
    Case(Audit.browse, "admin", {"next": "bad"}),
    Case(
        Audit.browse,
        "admin",
        {"since": "2030-01-01T00:00:00Z", "until": "2020-01-01T00:00:00Z"},
    ),
    *[Case(Audit.browse, caller, {}) for caller in ("alice", "guest", "files", "expired")],
    Case(Audit.search, "admin", {"usernames": ["nobody"], "calls": ["files.*"]}),
    Case(Audit.search, "admin", {"statuses": [99]}),
    Case(Audit.search, "admin", {"calls": "files.create"}),
    *[Case(Audit.search, caller, {}) for caller in ("bob", "guest")],
]
