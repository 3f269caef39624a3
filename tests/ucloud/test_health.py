"""``GET /status``: served services and the health of their dependencies,
checked against real engines (SQLite/PostgreSQL, Redis) and against real
engines that are down (a port nothing listens on)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    """A loopback port that was free a moment ago and that nobody listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ucloud(**changes: Any) -> override_settings:
    """The project's UCLOUD setting with ``changes`` applied."""
    return override_settings(UCLOUD={**settings.UCLOUD, **changes})


@pytest.mark.django_db
def test_status_lists_the_served_services_and_a_healthy_database(client):
    with ucloud(REDIS_URL=None):
        response = client.get("/status")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "services": ["accounts", "audit", "files", "notifications"],
        "dependencies": {"database": {"ok": True}},
    }


@pytest.mark.django_db
def test_status_lists_only_the_services_served_by_this_process(client):
    with ucloud(SERVICES=["files"], REDIS_URL=None):
        response = client.get("/status")

    assert response.status_code == 200
    assert response.json()["services"] == ["files"]


@pytest.mark.django_db
@pytest.mark.redis
def test_status_reports_a_reachable_redis_as_ok(client, redis_url):
    with ucloud(REDIS_URL=redis_url):
        response = client.get("/status")

    assert response.status_code == 200
    assert response.json()["dependencies"] == {"database": {"ok": True}, "redis": {"ok": True}}


@pytest.mark.django_db
def test_status_is_503_when_redis_refuses_connections(client):
    with ucloud(REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0"):
        response = client.get("/status")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["dependencies"] == {
        "database": {"ok": True},
        "redis": {"ok": False, "error": "ConnectionError"},
    }


# The view runs in a fresh process whose default database is a PostgreSQL
# server on a port nothing listens on: the real driver fails to connect.
STATUS_IN_A_FRESH_PROCESS = """
import json
import django
django.setup()
from django.test import Client
response = Client().get("/status")
print(json.dumps({"status_code": response.status_code, "body": response.json()}))
"""


def status_in_a_fresh_process(env: dict[str, str]) -> dict:
    """``/status`` answered by a new Python process with ``env``'s settings."""
    finished = subprocess.run(
        [sys.executable, "-c", STATUS_IN_A_FRESH_PROCESS],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout.strip().splitlines()[-1])


def test_status_is_503_when_the_database_cannot_be_reached():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed_port()}/ucloud_health_down",
        "REDIS_URL": "",
        "UCLOUD_SERVICES": "",
    }
    result = status_in_a_fresh_process(env)
    assert result == {
        "status_code": 503,
        "body": {
            "status": "unavailable",
            "services": ["accounts", "audit", "files", "notifications"],
            "dependencies": {"database": {"ok": False, "error": "OperationalError"}},
        },
    }


def test_status_only_answers_get_and_head(client):
    response = client.post("/status")

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json()["error_code"] == "method_not_allowed"


# ---------------------------------------------------------------- one database per service


# transaction=True: no test transaction held on the default connection, which
# SQLite would make the mirror connection wait for.
@pytest.mark.django_db(databases=["default", "files"], transaction=True)
@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_status_checks_the_database_of_each_served_service_when_they_differ(client):
    from tests.ucloud.test_databases import own_databases

    with ucloud(REDIS_URL=None), own_databases("files"):
        response = client.get("/status")

    assert response.status_code == 200
    assert response.json()["dependencies"] == {
        "database": {"ok": True, "aliases": {"default": {"ok": True}, "files": {"ok": True}}}
    }


def test_status_is_503_naming_the_one_service_database_that_cannot_be_reached(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'default.sqlite3'}",
        "DATABASE_URL_FILES": f"postgres://postgres@127.0.0.1:{closed_port()}/ucloud_files",
        "REDIS_URL": "",
        "UCLOUD_SERVICES": "",
    }
    result = status_in_a_fresh_process(env)
    assert result["status_code"] == 503
    assert result["body"]["dependencies"] == {
        "database": {
            "ok": False,
            "aliases": {
                "default": {"ok": True},
                "files": {"ok": False, "error": "OperationalError"},
            },
        }
    }


def test_status_of_a_unit_serving_only_files_checks_only_files_database(tmp_path):
    # accounts is served elsewhere: its unreachable database is not this unit's concern.
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'files.sqlite3'}",
        "DATABASE_URL_ACCOUNTS": f"postgres://postgres@127.0.0.1:{closed_port()}/ucloud_accounts",
        "REDIS_URL": "",
        "UCLOUD_SERVICES": "files",
    }
    result = status_in_a_fresh_process(env)
    assert result == {
        "status_code": 200,
        "body": {
            "status": "ok",
            "services": ["files"],
            "dependencies": {"database": {"ok": True}},
        },
    }


@pytest.mark.django_db
def test_live_answers_while_a_dependency_is_down_and_asks_none(client, django_assert_num_queries):
    with ucloud(REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0"):
        assert client.get("/status").status_code == 503
        with django_assert_num_queries(0):
            live = client.get("/status/live")
            head = client.head("/status/live")

    assert (live.status_code, live.json()) == (200, {"status": "alive"})
    assert head.status_code == 200
