"""Queries per notifications call, through the whole in-process pipeline.

Pinned so that a change in a query's shape fails here rather than showing
up as a slower benchmark.
"""

from __future__ import annotations

import pytest

from apps.notifications.api import NotificationDescriptions
from apps.notifications.models import Notification
from ucloud.testing import captured_queries, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def ids() -> list[int]:
    return [
        Notification.objects.create(
            username="alice", type="file_shared", message=f"note {n}", file_id=n
        ).id
        for n in range(5)
    ]


def statements(call, request) -> list[str]:
    with captured_queries() as sql:
        call.call(request, client_for("alice"))
    return [statement.split()[0] for statement in sql]


@pytest.mark.parametrize("unread_only", [False, True])
def test_browse_is_one_select_per_page(ids, unread_only):
    first = {"items_per_page": 2, "unread_only": unread_only}
    assert statements(NotificationDescriptions.browse, first) == ["SELECT"]
    page = NotificationDescriptions.browse.call(first, client_for("alice"))
    after = {**first, "next": page["next"]}
    assert statements(NotificationDescriptions.browse, after) == ["SELECT"]


def test_mark_read_is_one_update(ids):
    assert statements(NotificationDescriptions.mark_read, {"ids": ids}) == ["UPDATE"]
