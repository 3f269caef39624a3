"""Each service on its own PostgreSQL database, in one process: ``ucloud_migrate``
creates on each exactly its tables, and a file created through the API lands
in files' database while its notification (through the outbox, the relay and
the processor, eagerly) lands in notifications' database.

Every database is read directly with psycopg, not through Django's router.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from tests.conftest import require
from ucloud.deploy.processes import manage, project_dir
from ucloud.testing.servers import server_environment

SERVICES = ("accounts", "files", "notifications")
USER_APP_TABLES = {
    "auth_group",
    "auth_permission",
    "django_content_type",
    "django_session",
    "django_admin_log",
}
KIT_TABLES = {
    "ucloud_outboxevent",
    "ucloud_inboxentry",
    "ucloud_deadletter",
    "ucloud_lock_fences",
    "ucloud_searchentry",
    "ucloud_searchalias",
}

# Runs in a fresh process with the split DATABASES; only the public HTTP API.
CREATE_A_FILE = """
import json
import django
django.setup()
from django.test import Client
from apps.accounts import services
services.user_create(username="alice", password="alice-secret-1", role="USER")
api = Client()
login = api.post("/api/accounts/login", {"username": "alice", "password": "alice-secret-1"},
                 content_type="application/json")
auth = {"HTTP_AUTHORIZATION": "Bearer " + login.json()["access_token"]}
created = api.post("/api/files", {"path": "/reports/q3.pdf", "size": 1024},
                   content_type="application/json", **auth)
seen = api.get("/api/notifications/browse", {"items_per_page": 10}, **auth)
print(json.dumps({"login": login.status_code, "created": created.status_code,
                  "file": created.json(), "notifications": seen.json()}))
"""


# Fenced writes in notifications' own database, as a notifications job would make them.
FENCED_WRITES = """
import json
import django
django.setup()
from ucloud.databases import alias_for, atomic
from ucloud.locks import DistributedLock, StaleFencingToken, check_fencing_token
alias = alias_for("notifications")
with DistributedLock("notifications.job", ttl=30) as old:
    old_token = old.fencing_token
with DistributedLock("notifications.job", ttl=30) as new:
    new_token = new.fencing_token
    with atomic("notifications"):
        check_fencing_token("notifications.job", new_token, using=alias)
try:
    with atomic("notifications"):
        check_fencing_token("notifications.job", old_token, using=alias)
    stale = False
except StaleFencingToken:
    stale = True
print(json.dumps({"alias": alias, "new": new_token, "stale": stale}))
"""


def server_url() -> str:
    """The PostgreSQL server of ``DATABASE_URL``, else the local one."""
    configured = os.environ.get("DATABASE_URL", "")
    if configured.startswith(("postgres://", "postgresql://")):
        return configured
    return "postgres://postgres@127.0.0.1:5432/postgres"


def database_url(name: str) -> str:
    return urlsplit(server_url())._replace(path=f"/{name}").geturl()


def reachable(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


@pytest.fixture
def service_databases() -> Iterator[dict[str, str]]:
    """One new, empty database per service (``{service: url}``), dropped afterwards."""
    maintenance = database_url("postgres")
    require(reachable(maintenance), f"PostgreSQL at {maintenance}")
    prefix = f"ucloud_apart_{secrets.token_hex(4)}"
    names = {service: f"{prefix}_{service}" for service in SERVICES}
    with psycopg.connect(maintenance, autocommit=True) as conn:
        for name in names.values():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield {service: database_url(name) for service, name in names.items()}
    finally:
        with psycopg.connect(maintenance, autocommit=True) as conn:
            for name in names.values():
                drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                conn.execute(drop.format(sql.Identifier(name)))


def split_environment(urls: dict[str, str]) -> dict[str, str]:
    """files on DATABASE_URL (default), accounts and notifications on their own."""
    env = server_environment(urls["files"], secret_key=secrets.token_urlsafe(40))
    for name in ("CELERY_BROKER_URL", "REDIS_URL", "UCLOUD_KEYS_DIR"):
        env.pop(name, None)
    env["DATABASE_URL_ACCOUNTS"] = urls["accounts"]
    env["DATABASE_URL_NOTIFICATIONS"] = urls["notifications"]
    return env


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {row[0] for row in rows}


def rows(url: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def run_python(env: dict[str, str], code: str) -> dict[str, object]:
    finished = subprocess.run(
        [sys.executable, "-c", code],
        cwd=project_dir(),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    result: dict[str, object] = json.loads(finished.stdout.strip().splitlines()[-1])
    return result


def test_ucloud_migrate_creates_on_each_database_exactly_its_services_tables(service_databases):
    env = split_environment(service_databases)

    manage(env, "ucloud_migrate")

    accounts, files, notifications = (tables(service_databases[s]) for s in SERVICES)
    assert {"accounts_user", *USER_APP_TABLES, *KIT_TABLES} <= accounts
    assert {"files_file", "files_share", *KIT_TABLES} <= files
    assert {"notifications_notification", *KIT_TABLES} <= notifications
    # Auth and the user model only in accounts' database; no service's tables elsewhere.
    assert not ({"accounts_user", *USER_APP_TABLES} & (files | notifications))
    assert not ({"files_file", "files_share"} & (accounts | notifications))
    assert "notifications_notification" not in accounts | files


def test_a_file_and_its_notification_land_in_their_services_databases(service_databases):
    env = split_environment(service_databases)
    manage(env, "ucloud_migrate")

    result = run_python(env, CREATE_A_FILE)

    assert (result["login"], result["created"]) == (200, 200)
    notes = result["notifications"]
    assert isinstance(notes, dict)
    assert [n["message"] for n in notes["items"]] == ["You created /reports/q3.pdf"]
    accounts, files, notifications = (service_databases[s] for s in SERVICES)
    assert rows(accounts, "SELECT username FROM accounts_user") == [("alice",)]
    assert rows(files, "SELECT owner, path FROM files_file") == [("alice", "/reports/q3.pdf")]
    # The event was written with the file, in files' outbox, and relayed from there.
    events = "SELECT stream, relayed_at IS NOT NULL FROM ucloud_outboxevent WHERE stream = %s"
    assert rows(files, events % "'files.events'") == [("files.events", True)]
    assert rows(accounts, events % "'files.events'") == []
    # Each unit's audit records (the login, the create) went into its own outbox.
    audit = "SELECT payload->>'call' FROM ucloud_outboxevent WHERE stream = 'ucloud.audit'"
    assert (rows(accounts, audit), rows(files, audit)) == (
        [("accounts.login",)],
        [("files.create",)],
    )
    # Its effect and the inbox entry committed together in notifications' database.
    assert rows(notifications, "SELECT username, type FROM notifications_notification") == [
        ("alice", "file_created")
    ]
    assert rows(notifications, "SELECT count(*) FROM ucloud_inboxentry") == [(1,)]
    # files' own group indexed the file for search, in files' database.
    indexed = "SELECT count(*) FROM ucloud_inboxentry WHERE consumer LIKE 'files:%'"
    assert rows(files, indexed) == [(1,)]
    assert rows(files, "SELECT doc_id FROM ucloud_searchentry") == [(str(result["file"]["id"]),)]


def test_a_unit_serving_only_files_migrates_only_files_and_the_kit_into_its_database(
    service_databases,
):
    # As a deployment unit runs it: its DATABASE_URL, no other service's database.
    env = server_environment(service_databases["files"], secret_key=secrets.token_urlsafe(40))
    env["UCLOUD_SERVICES"] = "files"
    env["UCLOUD_SERVICE_URLS"] = "accounts=http://127.0.0.1:9,notifications=http://127.0.0.1:9"

    manage(env, "ucloud_migrate")

    created = tables(service_databases["files"]) - {"django_migrations"}
    assert created == {"files_file", "files_share", *KIT_TABLES}


def test_fencing_checks_in_the_writers_own_database(service_databases):
    env = split_environment(service_databases)
    manage(env, "ucloud_migrate")

    result = run_python(env, FENCED_WRITES)

    assert (result["alias"], result["stale"]) == ("notifications", True)
    fence = "SELECT name, fence FROM ucloud_lock_fences"
    assert rows(service_databases["notifications"], fence) == [("notifications.job", result["new"])]
    assert rows(service_databases["files"], fence) == []
