"""The notifications calls over HTTP (Django test client) and in process."""

from __future__ import annotations

import json

import pytest

from apps.notifications.api import MAX_IDS, NotificationDescriptions
from apps.notifications.models import Notification
from ucloud.auth.tokens import mint_access_token
from ucloud.contracts.errors import RPCException
from ucloud.contracts.roles import Role
from ucloud.rpc.client import RPCClient

pytestmark = pytest.mark.django_db

BROWSE = "/api/notifications/browse"
MARK_READ = "/api/notifications/mark_read"


def auth(username: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {mint_access_token(username, Role.USER)}"}


def notify(username: str, count: int) -> list[int]:
    return [
        Notification.objects.create(
            username=username, type="file_shared", message=f"note {n}", file_id=n
        ).id
        for n in range(count)
    ]


def mark_read(client, username: str, body: object):
    return client.post(
        MARK_READ, data=json.dumps(body), content_type="application/json", **auth(username)
    )


def test_browse_returns_the_callers_notifications_newest_first(client):
    mine = notify("alice", 2)
    notify("bob", 1)
    response = client.get(BROWSE, **auth("alice"))
    assert response.status_code == 200
    body = response.json()
    assert [item["id"] for item in body["items"]] == mine[::-1]
    assert body["items"][0]["type"] == "file_shared"
    assert body["items"][0]["read"] is False
    assert body["next"] is None


def test_browse_pages_with_next_and_filters_unread(client):
    first, second, third = notify("alice", 3)
    Notification.objects.filter(id=third).update(read=True)

    page = client.get(BROWSE, {"items_per_page": 1, "unread_only": "true"}, **auth("alice"))
    body = page.json()
    assert [item["id"] for item in body["items"]] == [second]
    rest = client.get(
        BROWSE,
        {"items_per_page": 1, "unread_only": "true", "next": body["next"]},
        **auth("alice"),
    ).json()
    assert [item["id"] for item in rest["items"]] == [first]
    assert rest["next"] is None


def test_browse_with_a_bad_page_token_is_400(client):
    response = client.get(BROWSE, {"next": "abc"}, **auth("alice"))
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["next"]


def test_guests_cannot_browse(client):
    assert client.get(BROWSE).status_code == 401


def test_mark_read_marks_own_unread_and_returns_the_count(client):
    mine = notify("alice", 3)
    theirs = notify("bob", 1)
    Notification.objects.filter(id=mine[0]).update(read=True)

    response = mark_read(client, "alice", {"ids": [*mine, *theirs]})

    assert response.status_code == 200
    assert response.json() == {"updated": 2}
    assert Notification.objects.get(id=theirs[0]).read is False
    assert mark_read(client, "alice", {"ids": mine}).json() == {"updated": 0}


@pytest.mark.parametrize(
    "body",
    [
        {"ids": ["abc"]},
        {"ids": [0]},
        {"ids": [-3]},
        {"ids": [2**63]},
        {"ids": []},
        {"ids": list(range(1, MAX_IDS + 2))},
        {"ids": 5},
        {},
    ],
    ids=["text", "zero", "negative", "too-big", "empty", "too-many", "not-a-list", "missing"],
)
def test_mark_read_with_bad_ids_is_400_with_ids_errors(client, body):
    notify("alice", 1)
    response = mark_read(client, "alice", body)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["ids"]
    assert Notification.objects.filter(read=True).count() == 0


def test_mark_read_accepts_exactly_the_maximum_number_of_ids(client):
    [only] = notify("alice", 1)
    ids = [only, *range(10_000, 10_000 + MAX_IDS - 1)]
    assert mark_read(client, "alice", {"ids": ids}).json() == {"updated": 1}


def test_the_calls_work_in_process_through_their_descriptions():
    [only] = notify("alice", 1)
    alice = RPCClient.for_token(mint_access_token("alice", Role.USER))

    page = NotificationDescriptions.browse.call({"unread_only": True}, alice)
    assert [item["id"] for item in page["items"]] == [only]
    assert NotificationDescriptions.mark_read.call({"ids": [only]}, alice) == {"updated": 1}

    with pytest.raises(RPCException) as caught:
        NotificationDescriptions.mark_read.call({"ids": []}, alice)
    assert caught.value.status == 400
