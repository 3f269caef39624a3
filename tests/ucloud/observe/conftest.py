"""Fixtures of the observation tests: spans caught in memory, users, a
superuser's browser session.

    def test_x(spans, alice):
        ...; names = [span.name for span in spans.get_finished_spans()]
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from django.test import Client
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from apps.accounts.models import User
from apps.accounts.services import user_create
from ucloud.auth.tokens import mint_access_token
from ucloud.contracts.roles import Role
from ucloud.observe import tracing, window

_exporter = InMemorySpanExporter()
_installed: list[int] = []


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Every span this process ends during the test, in memory."""
    provider = tracing.provider()
    if id(provider) not in _installed:
        provider.add_span_processor(SimpleSpanProcessor(_exporter))
        _installed.append(id(provider))
    _exporter.clear()
    yield _exporter
    _exporter.clear()


@pytest.fixture
def fresh_window() -> Iterator[None]:
    window.snapshots.clear()
    yield
    window.snapshots.clear()


class ApiUser:
    """A user of the HTTP API through Django's test client."""

    def __init__(self, client, username: str) -> None:
        self.client = client
        self.auth = {"HTTP_AUTHORIZATION": f"Bearer {mint_access_token(username, Role.USER)}"}

    def post(self, path: str, data: dict):
        return self.client.post(
            path, data=json.dumps(data), content_type="application/json", **self.auth
        )

    def create(self, path: str) -> int:
        response = self.post("/api/files", {"path": path, "size": 1})
        assert response.status_code == 200, response.content
        return int(response.json()["id"])


@pytest.fixture
def alice(client, db) -> ApiUser:
    for username in ("alice", "bob"):
        user_create(username=username, password="correct-horse-battery", role="USER")
    return ApiUser(client, "alice")


@pytest.fixture
def staff(db):
    """A Django test client logged in as a superuser."""
    User.objects.create_superuser("root", "root@example.com", "root-secret-1")
    browser = Client()
    assert browser.login(username="root", password="root-secret-1")
    return browser
