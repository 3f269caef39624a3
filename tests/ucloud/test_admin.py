"""The kit's admin pages of its event tables: nothing can be deleted, even by a
superuser; dead letters offer only their retry action."""

from __future__ import annotations

import uuid

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory

from apps.accounts.models import User
from ucloud.models import DeadLetter, InboxEntry, OutboxEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def root() -> User:
    return User.objects.create_superuser("root", "root@example.com", "root-secret-1")


@pytest.fixture
def browser(root: User) -> Client:
    client = Client()
    client.force_login(root)
    return client


def rows() -> dict[str, object]:
    """One row of each event table."""
    return {
        "outboxevent": OutboxEvent.objects.create(stream="test.orders", key="1", payload={}),
        "inboxentry": InboxEntry.objects.create(consumer="notifications:x", event_id=uuid.uuid4()),
        "deadletter": DeadLetter.objects.create(
            consumer="notifications:x",
            event_id=uuid.uuid4(),
            stream="test.orders",
            key="1",
            payload={},
            error="RuntimeError: boom",
            attempts=5,
        ),
    }


@pytest.mark.parametrize(
    ("model", "actions"),
    [(OutboxEvent, []), (InboxEntry, []), (DeadLetter, ["retry"])],
)
def test_a_superuser_gets_no_delete_action_and_dead_letters_only_retry(root, model, actions):
    request = RequestFactory().get("/admin/")
    request.user = root
    model_admin = admin.site._registry[model]

    assert list(model_admin.get_actions(request)) == actions
    assert not model_admin.has_delete_permission(request)


def test_the_changelists_offer_no_delete_selected(browser):
    rows()
    for model in ("outboxevent", "inboxentry", "deadletter"):
        page = browser.get(f"/admin/ucloud/{model}/")
        assert page.status_code == 200
        assert b"delete_selected" not in page.content


def test_the_delete_page_and_the_delete_action_delete_nothing(browser):
    for model, row in rows().items():
        page = browser.get(f"/admin/ucloud/{model}/{row.pk}/delete/")
        assert page.status_code == 403
        assert (
            browser.post(f"/admin/ucloud/{model}/{row.pk}/delete/", {"post": "yes"}).status_code
            == 403
        )
        browser.post(
            f"/admin/ucloud/{model}/",
            {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"},
        )
    # (The refusals are audit records in the outbox now, beside the row.)
    kept = OutboxEvent.objects.exclude(stream="ucloud.audit")
    assert (kept.count(), InboxEntry.objects.count()) == (1, 1)
    assert DeadLetter.objects.count() == 1
    refused = OutboxEvent.objects.filter(stream="ucloud.audit", payload__status=403)
    assert refused.count() == 6
