"""The inspection pages of the admin: staff only, generated content, the
dead letters of every unit retried from there; a unit's admin shows only
the models of the services it serves, and adding a file goes through the
files service (its event is produced)."""

from __future__ import annotations

import re
import types
import uuid

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import clear_url_caches, path

from apps.accounts.models import User
from apps.files.models import File
from ucloud.models import DeadLetter, OutboxEvent

pytestmark = pytest.mark.django_db

PAGES = ["catalog/", "catalog/files/", "picture/", "picture/?view=topology", "calls/",
         "traces/", "live/", "dead-letters/"]  # fmt: skip
NOTIFY = "notifications:apps.notifications.processors.notify_of_file_event"


@pytest.mark.parametrize("page", PAGES)
def test_pages_are_for_staff_only(page):
    User.objects.create_user("clerk", password="clerk-secret-1")
    clerk = Client()
    assert clerk.login(username="clerk", password="clerk-secret-1")

    for visitor in (Client(), clerk):
        response = visitor.get(f"/admin/inspect/{page}")
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_for_staff(staff, page):
    assert staff.get(f"/admin/inspect/{page}").status_code == 200


def test_the_admin_index_links_every_page(staff):
    index = staff.get("/admin/").content.decode()

    for page in ("catalog", "picture", "calls", "traces", "live", "dead-letters"):
        assert f'href="/admin/inspect/{page}/"' in index


def test_the_catalog_shows_files_share_with_its_roles(staff):
    page = staff.get("/admin/inspect/catalog/").content.decode()

    row = re.search(r'<tr class="call" data-call="files.share">(.*?)</tr>', page, re.S)
    assert row is not None
    assert "POST /api/files/share" in row.group(1)
    assert re.findall(r'<span class="tag">(\w+)</span>', row.group(1))[:2] == ["USER", "ADMIN"]


def test_the_picture_and_its_downloads(staff):
    page = staff.get("/admin/inspect/picture/").content.decode()
    svg = staff.get("/admin/inspect/picture/?format=svg")
    mermaid = staff.get("/admin/inspect/picture/?format=mermaid")

    assert 'class="edge call" data-from="files" data-to="accounts"' in page
    assert 'class="edge event" data-from="files.events" data-to="notifications"' in page
    assert svg["Content-Type"] == "image/svg+xml"
    assert svg.content.startswith(b"<svg")
    assert b"-.-> svc_notifications" in mermaid.content


def test_calls_show_count_and_percentiles_per_call(staff, alice):
    alice.create("/a.txt")

    page = staff.get("/admin/inspect/calls/").content.decode()

    row = re.search(
        r'<tr class="call-row" data-call="files.create" data-side="server" '
        r'data-transport="remote">(.*?)</tr>', page, re.S,
    )  # fmt: skip
    assert row is not None
    assert " ms</td>" in row.group(1)


@pytest.mark.django_db(transaction=True)
def test_traces_filter_and_show_a_waterfall(staff, alice):
    file_id = alice.create("/b.txt")
    shared = alice.post("/api/files/share", {"id": file_id, "username": "bob"})
    failed = alice.post("/api/files/share", {"id": 10**9, "username": "bob"})

    found = staff.get("/admin/inspect/traces/", {"call": "files.share"}).content.decode()
    waterfall = staff.get(f"/admin/inspect/traces/{shared['Trace-Id']}/").content.decode()

    assert shared["Trace-Id"] in found
    assert failed["Trace-Id"] in found
    names = re.findall(r'data-name="([^"]+)" data-kind="(\w+)"', waterfall)
    assert names[:3] == [("files.share", "server"), ("accounts.retrieve_user", "client"),
                         ("accounts.retrieve_user", "server")]  # fmt: skip
    assert ("process files.events", "consumer") in names
    assert staff.get("/admin/inspect/traces/00000000000000000000000000000000/").status_code == 404


def test_slower_than_keeps_only_slow_traces(staff, alice):
    alice.create("/c.txt")

    page = staff.get("/admin/inspect/traces/", {"call": "files.create", "slower": "100000"})

    assert b"No trace kept matches." in page.content


def test_dead_letters_of_a_unit_are_retried_from_the_admin(staff):
    letter = DeadLetter.objects.create(
        consumer=NOTIFY, event_id=uuid.uuid4(), stream="files.events", key="7",
        payload={"type": "file_created", "file_id": 7, "owner": "alice", "path": "/x",
                 "old_path": None, "shared_with": None},
        error="OperationalError: down", attempts=5,
    )  # fmt: skip
    listed = staff.get("/admin/inspect/dead-letters/").content.decode()
    value = f"this process|default|{letter.id}"
    assert f'value="{value}"' in listed

    response = staff.post("/admin/inspect/dead-letters/", {"letter": [value]}, follow=True)

    # (the admin capitalizes messages)
    assert "This process: 1 dead letter(s) handled." in response.content.decode()
    letter.refresh_from_db()
    assert letter.resolved_at is not None


def test_a_units_admin_shows_only_the_models_of_the_services_it_serves(settings, staff):
    settings.UCLOUD = {**settings.UCLOUD, "SERVICES": ["accounts"]}
    # The URLs as the accounts unit builds them at start.
    unit_urls = types.ModuleType("unit_urls")
    unit_urls.urlpatterns = [path("admin/", admin.site.urls)]
    settings.ROOT_URLCONF = unit_urls
    clear_url_caches()
    try:
        index = staff.get("/admin/")
        files = staff.get("/admin/files/file/")
        users = staff.get("/admin/accounts/user/")
    finally:
        clear_url_caches()

    assert index.status_code == 200
    assert b"/admin/accounts/user/" in index.content
    assert b"/admin/files/" not in index.content
    assert b"/admin/notifications/" not in index.content
    assert (files.status_code, users.status_code) == (404, 200)


def test_adding_a_file_in_the_admin_goes_through_the_files_service(staff):
    response = staff.post(
        "/admin/files/file/add/",
        {"path": "/admin/made.txt", "size": "5", "owner": "alice",
         "shares-TOTAL_FORMS": "0", "shares-INITIAL_FORMS": "0"},
    )  # fmt: skip

    assert response.status_code == 302, response.content[:2000]
    file = File.objects.get(path="/admin/made.txt")
    (event,) = OutboxEvent.objects.filter(stream="files.events")
    assert event.payload["type"] == "file_created"
    assert event.payload["file_id"] == file.id
