"""The inspection pages in a real Chromium, every service in one process:
the catalog lists files.share with its roles, the picture has the call edge
files -> accounts and the dashed event edge files.events -> notifications,
the calls table counts the in-process (local) call, a share's trace is one
waterfall, and a dead letter is retried. Screenshots: test-artifacts/."""

from __future__ import annotations

import uuid

import httpx
import pytest

from apps.accounts.models import User
from apps.accounts.services import user_create
from tests.browser import inspection
from ucloud.auth.tokens import mint_access_token
from ucloud.contracts.roles import Role
from ucloud.models import DeadLetter

pytestmark = pytest.mark.django_db(transaction=True)

NOTIFY = "notifications:apps.notifications.processors.notify_of_file_event"


def share_a_file(base_url: str) -> str:
    """alice creates and shares a file over HTTP; the share's trace id."""
    for username in ("alice", "bob"):
        user_create(username=username, password="correct-horse-battery", role="USER")
    headers = {"Authorization": f"Bearer {mint_access_token('alice', Role.USER)}"}
    with httpx.Client(base_url=base_url, headers=headers) as api:
        created = api.post("/api/files", json={"path": "/docs/a.txt", "size": 3}).json()
        shared = api.post("/api/files/share", json={"id": created["id"], "username": "bob"})
        assert shared.status_code == 200
        api.post("/api/files/share", json={"id": created["id"], "username": "nobody"})
    return shared.headers["Trace-Id"]


def test_every_inspection_page_in_one_process(browser, live_server):
    trace_id = share_a_file(live_server.url)
    letter = DeadLetter.objects.create(
        consumer=NOTIFY, event_id=uuid.uuid4(), stream="files.events", key="9",
        payload={"type": "file_created", "file_id": 9, "owner": "alice", "path": "/z",
                 "old_path": None, "shared_with": None},
        error="OperationalError: the database was down", attempts=5,
    )  # fmt: skip
    User.objects.create_superuser("root", "root@example.com", "root-secret-1")
    inspection.log_in(browser, live_server.url, "root", "root-secret-1")

    inspection.check_index(browser, live_server.url, "together")
    inspection.check_catalog(browser, live_server.url, "together", "this process")
    inspection.check_picture(browser, live_server.url, "together", ["this process"])
    inspection.check_calls(browser, live_server.url, "together", "local")
    inspection.check_traces(browser, live_server.url, "together", trace_id)
    inspection.check_live(browser, live_server.url, "together", ["this process"])
    inspection.retry_dead_letter(browser, live_server.url, "together", "this process", letter.id)

    letter.refresh_from_db()
    assert letter.resolved_at is not None
