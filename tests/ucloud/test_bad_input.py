"""Bad input is a 4xx JSON answer, always: through Django's test client and a real gunicorn.

Oversized and deeply nested bodies, unknown paths, a wrong ``Host``, methods a
route does not take, and ``HEAD /status`` all answer the kit's JSON body
(``why`` and ``error_code``), never an HTML page or a 500.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import include, path

from ucloud.rpc.parsers import nesting_exceeds
from ucloud.testing import servers, token_for

JSON = "application/json"
LIMIT = 2_621_440  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE default
TOO_BIG = json.dumps({"path": "/big", "size": 1, "pad": "x" * (LIMIT + 10)}).encode()
TOO_DEEP = b"[" * 100_000 + b"]" * 100_000


def kit_error(status: int, content_type: str, body: bytes) -> tuple[int, str]:
    assert content_type.startswith(JSON), (status, content_type, body[:200])
    decoded = json.loads(body)
    assert set(decoded) >= {"why", "error_code"}, decoded
    return status, decoded["error_code"]


def answer(response: Any) -> tuple[int, str]:
    return kit_error(response.status_code, response["Content-Type"], response.content)


@pytest.fixture
def alice() -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token_for('alice')}"}


def test_a_body_over_the_limit_is_413(client, alice):
    response = client.post("/api/files", data=TOO_BIG, content_type=JSON, **alice)
    assert answer(response) == (413, "body_too_large")


def test_json_nested_deeper_than_the_limit_is_400(client, alice):
    response = client.post("/api/files", data=TOO_DEEP, content_type=JSON, **alice)
    assert answer(response) == (400, "malformed_body")
    assert "nested deeper than 64" in response.json()["why"]


def test_nesting_up_to_the_limit_is_parsed(client, alice):
    nested: Any = {"path": "/a", "size": 1}
    for _ in range(63):
        nested = [nested]
    response = client.post("/api/files", data=json.dumps(nested), content_type=JSON, **alice)
    # Parsed, then refused by validation: not a dict.
    assert answer(response) == (400, "invalid_request")


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = json.dumps({"path": "[" * 500, "note": '"{{{{' * 100})
    assert not nesting_exceeds(text, 4)
    assert nesting_exceeds("[[[[[1]]]]]", 4)
    assert not nesting_exceeds("[[[[1]]]]", 4)
    assert not nesting_exceeds("[[1],[2],[3],[4],[5],[6]]", 2)


@pytest.mark.parametrize(
    "path", ["/", "/nowhere", "/static-nope/x.css", "/api/nowhere", "/api", "/api/"]
)
def test_unknown_paths_are_json_404(client, path):
    assert answer(client.get(path)) == (404, "not_found")


def test_a_host_not_allowed_is_json_400():
    with override_settings(ALLOWED_HOSTS=["127.0.0.1"]):
        response = Client().get("/status", HTTP_HOST="evil.example")
    assert answer(response) == (400, "disallowed_host")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("put", "/api/files"),
        ("post", "/status"),
        ("delete", "/status"),
        ("post", "/status/live"),
        ("options", "/status/live"),
        ("post", "/metrics"),
        ("patch", "/metrics"),
        ("options", "/metrics"),
    ],
)
def test_a_method_a_route_does_not_take_is_json_405(method, path):
    # CSRF checks on, as for a real client: no CSRF page comes first.
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)(path, data="{}", content_type=JSON)
    assert answer(response) == (405, "method_not_allowed")
    assert "GET" in response["Allow"] or "POST" in response["Allow"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/docs/"),
        ("options", "/api/docs/"),
        ("delete", "/api/schema/"),
        ("options", "/api/schema/"),
    ],
)
def test_the_api_documents_answer_other_methods_with_the_kits_405(method, path):
    # DRF rendered these with the page's renderer: an HTML 405, and a 500
    # for OPTIONS on the docs.
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)(path)
    assert answer(response) == (405, "method_not_allowed")
    assert response["Allow"] == "GET, HEAD"


def _a_form(request: HttpRequest) -> HttpResponse:
    return HttpResponse("taken")


# A project's own view next to the kit's (which are all exempt: they change
# nothing, or take a bearer token).
urlpatterns = [path("form", _a_form), path("", include("config.urls"))]


@override_settings(ROOT_URLCONF=__name__)
def test_a_refused_csrf_check_outside_the_admin_is_the_kits_json_403():
    response = Client(enforce_csrf_checks=True).post("/form", data="{}", content_type=JSON)
    assert answer(response) == (403, "csrf_failed")


@pytest.mark.parametrize("url", ["/api/nowhere", "/api"])
def test_a_post_to_a_call_not_served_here_is_its_404_not_a_csrf_refusal(url):
    response = Client(enforce_csrf_checks=True).post(url, data="{}", content_type=JSON)
    assert answer(response) == (404, "not_found")


def test_the_admin_keeps_djangos_csrf_page_for_browsers(db):
    response = Client(enforce_csrf_checks=True).post("/admin/login/", {"username": "x"})
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


def test_head_status_answers_like_get_without_a_body(client, db):
    response = client.head("/status")
    assert (response.status_code, response["Content-Type"]) == (200, JSON)
    assert response.content == b""


# --- the same through a real gunicorn --------------------------------------------


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.ServerProcess]:
    """The project in gunicorn on a scratch SQLite file (no call here needs a table)."""
    directory: Path = tmp_path_factory.mktemp("bad-input")
    env = servers.server_environment(
        f"sqlite:///{directory / 'db.sqlite3'}",
        secret_key="bad-input-" + "k" * 40,
        settings_module="config.settings",  # ALLOWED_HOSTS as in production
    )
    server = servers.start_server("bad-input", env, log_dir=directory)
    try:
        servers.wait_until_ready(server)
        yield server
    finally:
        server.stop()


def over_http(server: servers.ServerProcess, method: str, path: str, **kwargs: Any) -> Any:
    return httpx.request(method, f"{server.url}{path}", timeout=30.0, **kwargs)


def http_answer(response: httpx.Response) -> tuple[int, str]:
    return kit_error(response.status_code, response.headers["content-type"], response.content)


@pytest.mark.e2e
def test_gunicorn_answers_oversized_and_deep_bodies_with_json_4xx(gunicorn):
    # No token: the body is refused before the call's role is checked.
    headers = {"Content-Type": JSON}
    big = over_http(gunicorn, "POST", "/api/files", content=TOO_BIG, headers=headers)
    assert http_answer(big) == (413, "body_too_large")
    deep = over_http(gunicorn, "POST", "/api/files", content=TOO_DEEP, headers=headers)
    assert http_answer(deep) == (400, "malformed_body")
    # Without Content-Length (chunked) Django reads no body at all: still a JSON 4xx.
    chunks = (TOO_BIG[i : i + 65536] for i in range(0, len(TOO_BIG), 65536))
    chunked = over_http(gunicorn, "POST", "/api/files", content=chunks, headers=headers)
    assert 400 <= http_answer(chunked)[0] < 500
    assert "Traceback" not in gunicorn.logs()


@pytest.mark.e2e
def test_gunicorn_answers_unknown_paths_wrong_hosts_and_methods_with_json(gunicorn):
    assert http_answer(over_http(gunicorn, "GET", "/")) == (404, "not_found")
    wrong_host = over_http(gunicorn, "GET", "/status", headers={"Host": "evil.example"})
    assert http_answer(wrong_host) == (400, "disallowed_host")
    assert http_answer(over_http(gunicorn, "DELETE", "/status")) == (405, "method_not_allowed")
    head = over_http(gunicorn, "HEAD", "/status")
    assert (head.status_code, head.headers["content-type"], head.content) == (200, JSON, b"")


@pytest.mark.parametrize("path", ["/api/schema/?format=xml", "/api/docs/?format=xml"])
def test_an_unknown_format_of_the_api_documents_is_the_kits_json_404(path):
    # DRF answered it with the page's own renderer: a YAML 404 for the schema.
    response = Client().get(path)
    assert response["Content-Type"] == "application/json"
    assert answer(response) == (404, "not_found")
    assert "'xml'" in response.json()["why"]
