"""Testing helpers shipped with the kit, after ``nameko.testing``.

Mint tokens and clients for any user, force every call between services
through HTTP, see which requests reached this process, count the queries a
call makes, and drive the public API the same way whether it runs in this
process or behind real servers::

    from ucloud.testing import client_for, forced_http, served_requests, HttpApi

    FileDescriptions.browse.call({}, client_for("alice"))        # as alice
    with captured_queries() as sql:
        FileDescriptions.retrieve.call({"id": 1}, client_for("alice"))
    assert len(sql) == 1, sql
    with forced_http(live_server.url), served_requests() as seen:
        status, body = HttpApi(live_server.url).request("GET", "/status")
    assert [r.path for r in seen] == ["/status"]

``InProcessApi`` (Django's test client) and ``HttpApi`` (httpx, optionally
routed per path prefix to several servers) share one ``request`` signature,
so one scenario function can run against either.

Real processes, for tests and benchmarks that need them (each module says how):
``ucloud.testing.servers`` (gunicorn serving the project),
``ucloud.testing.apart`` (every unit of a topology, nginx in front),
``ucloud.testing.workers`` (Celery workers), ``ucloud.testing.private_redis``
(a ``redis-server`` of one's own), ``ucloud.testing.scratch`` (a throwaway
database) and ``ucloud.testing.ports``.
"""

from __future__ import annotations

import json as jsonlib
import threading
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from django.conf import settings
from django.core.signals import request_started
from django.db import connections
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from ucloud import registry
from ucloud.auth.principal import ALL_SCOPES
from ucloud.auth.tokens import decode_access_token, mint_access_token
from ucloud.contracts.errors import Unauthorized
from ucloud.contracts.roles import Role
from ucloud.databases import aliases_for
from ucloud.rpc.client import RPCClient

# A response as the scenario sees it: status code and decoded JSON body
# (None when empty, the text itself when it is not JSON).
ApiResponse = tuple[int, Any]


@dataclass(frozen=True)
class Credentials:
    """A user's login: what the administrator of a test deployment is made with."""

    username: str
    password: str


def token_for(username: str, role: Role = Role.USER, scopes: tuple[str, ...] = ALL_SCOPES) -> str:
    """An access token for ``username`` that every process sharing the key accepts."""
    return mint_access_token(username, role, scopes)


def client_for(username: str, role: Role = Role.USER, **kwargs: Any) -> RPCClient:
    """An ``RPCClient`` acting as ``username``; ``kwargs`` go to ``RPCClient``."""
    return RPCClient.for_token(token_for(username, role), **kwargs)


@contextmanager
def forced_http(base_url: str, **service_urls: str) -> Iterator[None]:
    """Send every call between services over HTTP while the block runs.

    Each service is reached at ``base_url`` (a live server serving them all)
    unless named in ``service_urls`` (``accounts="http://127.0.0.1:8001"``).
    Transports and the pooled HTTP client are rebuilt on entry and on exit.
    """
    current = dict(getattr(settings, "UCLOUD", {}) or {})
    urls = {name: base_url.rstrip("/") for name in registry.services()}
    urls.update(service_urls)
    forced = {**current, "FORCE_HTTP": True, "SERVICE_URLS": urls, "GATEWAY_URL": base_url}
    with override_settings(UCLOUD=forced):
        yield


@dataclass(frozen=True)
class ServedRequest:
    """One HTTP request that reached a Django handler in this process."""

    method: str
    path: str
    # Job id of the call that made this request, when another call did.
    caused_by: str | None
    # Holder of the bearer token, when it was a valid access token.
    username: str | None
    role: Role | None


def _served_request(environ: Mapping[str, Any]) -> ServedRequest:
    username: str | None = None
    role: Role | None = None
    scheme, _, token = str(environ.get("HTTP_AUTHORIZATION", "")).partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        try:
            # Who presented it; whether its audience fits is the server's business.
            principal = decode_access_token(token.strip(), verify_audience=False)
        except Unauthorized:
            pass
        else:
            username, role = principal.username, principal.role
    return ServedRequest(
        method=str(environ.get("REQUEST_METHOD", "")),
        path=str(environ.get("PATH_INFO", "")),
        caused_by=environ.get("HTTP_CAUSED_BY") or None,
        username=username,
        role=role,
    )


@contextmanager
def served_requests() -> Iterator[list[ServedRequest]]:
    """Record every request Django's handlers start in this process.

    Both the test client and live servers (any thread) send
    ``request_started``, so this shows which calls really travelled as
    HTTP requests to this process, e.g. a service-to-service call under
    ``forced_http``. Requests served by other processes are not seen.
    """
    seen: list[ServedRequest] = []
    lock = threading.Lock()

    def record(sender: Any, environ: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        if environ is not None:
            with lock:
                seen.append(_served_request(environ))

    request_started.connect(record, weak=False)
    try:
        yield seen
    finally:
        request_started.disconnect(record)


# Transaction control the surrounding test adds or removes (a test's own
# transaction turns the call's atomic blocks into savepoints): not queries.
_TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


@contextmanager
def captured_queries(*services: str) -> Iterator[list[str]]:
    """The SQL statements run in this thread while the block runs.

    Counted on the database aliases of ``services`` (default: every
    registered service), each statement once, without savepoints, so that a
    test pins how many queries a call costs: a regression then fails a test
    instead of slowing a benchmark. The list is filled when the block exits.
    """
    aliases = aliases_for(services or registry.services())
    statements: list[str] = []
    with ExitStack() as stack:
        captures = [
            stack.enter_context(CaptureQueriesContext(connections[alias])) for alias in aliases
        ]
        yield statements
    for capture in captures:
        statements.extend(
            query["sql"]
            for query in capture.captured_queries
            if not query["sql"].upper().startswith(_TRANSACTION_CONTROL)
        )


class Api(Protocol):
    """Something that sends requests to the public API and decodes answers."""

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        token: str | None = None,
        content: bytes | None = None,
    ) -> ApiResponse: ...


def _decode(status: int, content: bytes) -> ApiResponse:
    if not content:
        return status, None
    try:
        return status, jsonlib.loads(content)
    except ValueError:
        return status, content.decode(errors="replace")


def _body(json: Any, content: bytes | None) -> bytes | None:
    """The raw body to send: ``content`` as given, else ``json`` encoded."""
    if content is not None:
        return content
    if json is not None:
        return jsonlib.dumps(json).encode()
    return None


class InProcessApi:
    """Drives the API through Django's test client: the full stack, no socket."""

    def __init__(self, client: Client | None = None) -> None:
        self.client = client or Client()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        token: str | None = None,
        content: bytes | None = None,
    ) -> ApiResponse:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body = _body(json, content)
        response = self.client.generic(
            method,
            path,
            body or b"",
            content_type="application/json",
            headers=headers,
            query_params=dict(params or {}),
        )
        return _decode(response.status_code, response.content)


class HttpApi:
    """Drives the API over real HTTP with httpx.

    ``routes`` maps path prefixes to base URLs (longest prefix wins), so one
    driver can talk to services running in separate processes::

        HttpApi(files_url, routes={"/api/accounts": accounts_url})
    """

    def __init__(
        self, base_url: str, *, routes: Mapping[str, str] | None = None, timeout: float = 30.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.routes = sorted(
            ((prefix, url.rstrip("/")) for prefix, url in (routes or {}).items()),
            key=lambda route: len(route[0]),
            reverse=True,
        )
        self.http = httpx.Client(timeout=timeout)

    def url_for(self, path: str) -> str:
        """The absolute URL ``path`` is sent to."""
        for prefix, url in self.routes:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return url + path
        return self.base_url + path

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        token: str | None = None,
        content: bytes | None = None,
    ) -> ApiResponse:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = _body(json, content)
        if body is not None:
            headers["Content-Type"] = "application/json"
        response = self.http.request(
            method, self.url_for(path), content=body, params=params, headers=headers
        )
        return _decode(response.status_code, response.content)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> HttpApi:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
