"""keyset_page: pages by id in either direction, and refuses bad tokens."""

from __future__ import annotations

import pytest

from apps.notifications.models import Notification
from ucloud.contracts.errors import BadRequest
from ucloud.contracts.pages import BrowseRequest, keyset_page

pytestmark = pytest.mark.django_db


@pytest.fixture
def ids() -> list[int]:
    return [
        Notification.objects.create(username="a", type="file_created", message=str(i), file_id=i).id
        for i in range(5)
    ]


def _walk(*, newest_first: bool) -> list[list[int]]:
    pages, token = [], None
    while True:
        page = keyset_page(
            Notification.objects.all(),
            items_per_page=2,
            next=token,
            render=lambda note: note.id,
            newest_first=newest_first,
        )
        pages.append(page["items"])
        token = page["next"]
        if token is None:
            return pages


def test_pages_walk_every_row_once_oldest_first(ids):
    assert _walk(newest_first=False) == [ids[0:2], ids[2:4], ids[4:5]]


def test_pages_walk_every_row_once_newest_first(ids):
    newest = ids[::-1]
    assert _walk(newest_first=True) == [newest[0:2], newest[2:4], newest[4:5]]


@pytest.mark.parametrize("token", ["abc", "-5", "1.5"])
def test_a_token_that_is_not_a_row_id_is_a_400_on_next(ids, token):
    with pytest.raises(BadRequest) as caught:
        keyset_page(Notification.objects.all(), items_per_page=2, next=token, render=str)
    assert caught.value.errors == {"next": ["Not a valid page token."]}


def test_a_token_past_the_largest_id_there_can_be_is_the_end_not_an_overflow(ids):
    huge = "9" * 19  # matches the documented pattern, beyond a 64-bit id
    page = keyset_page(Notification.objects.all(), items_per_page=2, next=huge, render=str)
    assert page == {"items": [], "next": None}
    newest = keyset_page(
        Notification.objects.all(), items_per_page=9, next=huge, render=str, newest_first=True
    )
    assert len(newest["items"]) == len(ids)


@pytest.mark.parametrize(("token", "valid"), [("12", True), ("9" * 19, True), ("9" * 20, False)])
def test_the_browse_request_states_the_token_pattern(token, valid):
    assert BrowseRequest(data={"next": token}).is_valid() is valid
