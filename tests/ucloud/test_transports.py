"""Transports over real sockets: failures, headers, pooling, and choosing a transport.

Tiny ``http.server`` servers on free loopback ports stand in for remote
services; ``live_server`` runs the real project for round trips.
"""

from __future__ import annotations

import json
import os
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import override_settings

from apps.accounts.api import AccountDescriptions
from apps.files.api import FileDescriptions
from ucloud.auth.principal import GUEST
from ucloud.auth.tokens import mint_access_token
from ucloud.contracts.errors import BadGateway, RPCException, Unauthorized
from ucloud.contracts.roles import Role
from ucloud.rpc.client import RPCClient
from ucloud.rpc.transports import (
    HttpTransport,
    InProcessTransport,
    shared_http_client,
    transport_for,
)

WHOAMI = AccountDescriptions.whoami
LOGIN = AccountDescriptions.login


class QuietHandler(BaseHTTPRequestHandler):
    """Records each request on ``server.captured``; answers per subclass."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def capture(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        entry = {
            "method": self.command,
            "path": url.path,
            "query": parse_qs(url.query),
            "headers": dict(self.headers),
            "body": body,
        }
        self.server.captured.append(entry)  # type: ignore[attr-defined]
        return entry

    def answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class AnswersWhoami(QuietHandler):
    def do_GET(self) -> None:
        self.capture()
        self.answer(200, b'{"username": "remote", "role": "USER"}', "application/json")

    def do_POST(self) -> None:
        self.capture()
        self.answer(200, b'{"access_token": "a", "refresh_token": "r"}', "application/json")


class AnswersWithACookie(AnswersWhoami):
    def answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Set-Cookie", "sessionid=first-callers; Path=/")
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class AnswersHtml502(QuietHandler):
    def do_GET(self) -> None:
        self.capture()
        self.answer(502, b"<html><body>Bad Gateway</body></html>", "text/html")


class AnswersJsonError(QuietHandler):
    def do_POST(self) -> None:
        self.capture()
        body = {"why": "Nope", "error_code": "bad_credentials", "errors": {"password": ["x"]}}
        self.answer(401, json.dumps(body).encode(), "application/json")


class AnswersMalformedJson(QuietHandler):
    def do_GET(self) -> None:
        self.capture()
        self.answer(200, b"{oops", "application/json")


class HangsUpOnPost(QuietHandler):
    def do_POST(self) -> None:
        self.capture()
        # Close without a status line: the caller cannot know whether the
        # call ran, so it must not send it again.
        self.close_connection = True


def accounts_at(url: str, **more: Any) -> Any:
    """Settings where accounts runs elsewhere, at ``url``."""
    return override_settings(
        UCLOUD={"SERVICES": ["files"], "SERVICE_URLS": {"accounts": url}, **more}
    )


def alice() -> RPCClient:
    return RPCClient.for_token(mint_access_token("alice", Role.USER), caused_by="job-parent")


def call_fails(described, request, client, status, code) -> RPCException:
    with pytest.raises(RPCException) as info:
        described.call(request, client)
    assert (info.value.status, info.value.error_code) == (status, code)
    return info.value


def test_refused_connection_is_502_bad_gateway(closed_port):
    with accounts_at(f"http://127.0.0.1:{closed_port}"):
        error = call_fails(WHOAMI, {}, alice(), 502, "bad_gateway")
    assert "accounts" in error.why


def test_server_that_never_answers_is_504(silent_server):
    url, _ = silent_server
    with accounts_at(url, HTTP_READ_TIMEOUT=0.2):
        call_fails(WHOAMI, {}, alice(), 504, "gateway_timeout")


def test_non_json_error_body_keeps_the_status(http_server):
    url, captured = http_server(AnswersHtml502)
    with accounts_at(url):
        error = call_fails(WHOAMI, {}, alice(), 502, "remote_error")
    assert "accounts answered 502" in error.why
    # Whatever the body, the status picks the class.
    assert type(error) is BadGateway
    assert len(captured) == 1


def test_json_error_body_becomes_the_same_rpc_exception(http_server):
    url, _ = http_server(AnswersJsonError)
    with accounts_at(url):
        error = call_fails(
            LOGIN, {"username": "a", "password": "b"}, RPCClient(GUEST), 401, "bad_credentials"
        )
    assert (error.why, error.errors) == ("Nope", {"password": ["x"]})
    assert type(error) is Unauthorized


def test_malformed_json_success_body_is_502(http_server):
    url, _ = http_server(AnswersMalformedJson)
    with accounts_at(url):
        call_fails(WHOAMI, {}, alice(), 502, "bad_gateway")


def test_query_call_sends_token_job_ids_and_query(http_server):
    url, captured = http_server(AnswersWhoami)
    client = alice()
    with accounts_at(url):
        result = AccountDescriptions.retrieve_user.call({"username": "bob"}, client)
    assert result == {"username": "remote", "role": "USER"}
    (request,) = captured
    assert request["method"] == "GET"
    assert request["path"] == "/api/accounts/users/retrieve"
    assert request["query"] == {"username": ["bob"]}
    headers = request["headers"]
    assert headers["Authorization"] == f"Bearer {client.principal.token}"
    assert headers["Caused-By"] == "job-parent"
    assert len(headers["Job-Id"]) == 32
    assert headers["Accept"] == "application/json"


def test_body_call_sends_json_and_guests_send_no_authorization(http_server):
    url, captured = http_server(AnswersWhoami)
    with accounts_at(url + "/"):  # a trailing slash in the URL is harmless
        LOGIN.call({"username": "bob", "password": "pw"}, RPCClient())
    (request,) = captured
    assert request["path"] == "/api/accounts/login"
    assert request["headers"]["Content-Type"] == "application/json"
    assert json.loads(request["body"]) == {"username": "bob", "password": "pw"}
    assert "Authorization" not in request["headers"]
    assert "Caused-By" not in request["headers"]


def test_each_call_has_its_own_job_id(http_server):
    url, captured = http_server(AnswersWhoami)
    with accounts_at(url):
        WHOAMI.call({}, alice())
        WHOAMI.call({}, alice())
    assert captured[0]["headers"]["Job-Id"] != captured[1]["headers"]["Job-Id"]


def test_a_cookie_one_answer_sets_never_goes_out_with_later_calls(http_server):
    # One HTTP client serves every user of a process: a cookie kept from
    # one user's call would be sent with the next user's.
    url, captured = http_server(AnswersWithACookie)
    with accounts_at(url):
        WHOAMI.call({}, alice())
        WHOAMI.call({}, RPCClient.for_token(mint_access_token("bob", Role.USER)))
    assert len(captured) == 2
    assert all("Cookie" not in request["headers"] for request in captured)
    assert not shared_http_client.get().cookies


def test_post_is_not_retried_when_the_connection_closes(http_server):
    url, captured = http_server(HangsUpOnPost)
    with accounts_at(url):
        call_fails(LOGIN, {"username": "a", "password": "b"}, RPCClient(), 502, "bad_gateway")
    assert len(captured) == 1


def test_service_not_served_here_without_url_is_503():
    with override_settings(UCLOUD={"SERVICES": ["files"]}):
        error = call_fails(WHOAMI, {}, alice(), 503, "service_not_configured")
    assert "UCLOUD_SERVICE_URLS" in error.why


def test_pooled_client_is_reused_within_a_process():
    with override_settings(UCLOUD={}):
        assert shared_http_client.get() is shared_http_client.get()


def test_pooled_client_is_made_again_after_settings_change():
    with override_settings(UCLOUD={}):
        before = shared_http_client.get()
    with override_settings(UCLOUD={"HTTP_READ_TIMEOUT": 2.0}):
        after = shared_http_client.get()
        assert after is not before
        assert after.timeout.read == 2.0


def test_pooled_client_is_made_again_after_fork():
    parent_client = shared_http_client.get()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child reports through the pipe and leaves without cleanup
        verdict = b"0"
        try:
            child_client = shared_http_client.get()
            if child_client is not parent_client and shared_http_client.get() is child_client:
                verdict = b"1"
        finally:
            os.write(write_end, verdict)
            os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    with os.fdopen(read_end, "rb") as pipe:
        assert pipe.read() == b"1"
    assert shared_http_client.get() is parent_client


def test_in_process_when_served_here():
    with override_settings(UCLOUD={}):
        assert isinstance(transport_for(WHOAMI), InProcessTransport)
        assert isinstance(transport_for(FileDescriptions.browse), InProcessTransport)


def test_force_http_setting_and_client_flag_pick_http():
    with override_settings(UCLOUD={"FORCE_HTTP": True, "GATEWAY_URL": "http://gw.example"}):
        transport = transport_for(WHOAMI)
        assert isinstance(transport, HttpTransport)
        assert transport.base_url == "http://gw.example"
        assert isinstance(transport_for(WHOAMI, force_http=False), InProcessTransport)
    with override_settings(UCLOUD={"GATEWAY_URL": "http://gw.example"}):
        assert isinstance(transport_for(WHOAMI, force_http=True), HttpTransport)


def test_a_settings_change_drops_cached_http_transports():
    """transports follows UCLOUD itself (setting_changed), not through ucloud.settings."""
    with override_settings(UCLOUD={"FORCE_HTTP": True, "GATEWAY_URL": "http://one.example"}):
        assert transport_for(WHOAMI).base_url == "http://one.example"
    with override_settings(UCLOUD={"FORCE_HTTP": True, "GATEWAY_URL": "http://two.example"}):
        assert transport_for(WHOAMI).base_url == "http://two.example"


def test_service_url_wins_over_gateway_and_transports_are_cached():
    with override_settings(
        UCLOUD={
            "SERVICES": ["files"],
            "GATEWAY_URL": "http://gw.example",
            "SERVICE_URLS": {"accounts": "http://acc.example:81"},
        }
    ):
        transport = transport_for(WHOAMI)
        assert isinstance(transport, HttpTransport)
        assert transport.base_url == "http://acc.example:81"
        assert transport_for(AccountDescriptions.login) is transport
        assert isinstance(transport_for(FileDescriptions.browse), InProcessTransport)


@pytest.mark.django_db(transaction=True)
def test_calls_over_http_to_a_live_server_match_in_process(live_server, django_user_model):
    django_user_model.objects.create_user("alice", password="alice-password-1")
    django_user_model.objects.create_user("bob", password="bob-password-1")
    with override_settings(UCLOUD={"FORCE_HTTP": True, "GATEWAY_URL": live_server.url}):
        tokens = LOGIN.call({"username": "alice", "password": "alice-password-1"}, RPCClient())
        client = RPCClient.for_token(tokens["access_token"])
        assert WHOAMI.call({}, client) == {"username": "alice", "role": "USER"}
        created = FileDescriptions.create.call({"path": "/a.txt", "size": 3}, client)
        # share asks accounts over HTTP too, as the files service itself.
        shared = FileDescriptions.share.call({"id": created["id"], "username": "bob"}, client)
        assert shared["shared_with"] == ["bob"]
        error = call_fails(
            FileDescriptions.share,
            {"id": created["id"], "username": "nobody"},
            client,
            404,
            "unknown_user",
        )
        assert "nobody" in error.why
        moved = FileDescriptions.move.call({"id": created["id"], "new_path": "/b.txt"}, client)
    in_process = FileDescriptions.retrieve.call({"id": created["id"]}, client)
    assert in_process == moved
    assert moved["shared_with"] == ["bob"]
    with override_settings(UCLOUD={"FORCE_HTTP": True, "GATEWAY_URL": live_server.url}):
        # DELETE carries its request as a JSON body.
        assert FileDescriptions.delete.call({"id": created["id"]}, client) == {}
    call_fails(FileDescriptions.retrieve, {"id": created["id"]}, client, 404, "unknown_file")
