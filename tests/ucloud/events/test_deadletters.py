"""Dead-letter tooling: the ``ucloud_deadletters`` command and the admin pages
with their "Retry selected dead letters" action."""

from __future__ import annotations

import io
import uuid

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.utils import timezone

from apps.accounts.models import User
from tests.ucloud.events.eventing import (
    GROUP,
    OrderEvent,
    deliver_until_settled,
    order,
    received,
    subscribe,
)
from ucloud.events.streams import Event, EventStream, stream_named
from ucloud.models import DeadLetter, InboxEntry, OutboxEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _two_attempts():
    with override_settings(UCLOUD={**settings.UCLOUD, "STREAM_MAX_ATTEMPTS": 2}):
        yield


class Warehouse:
    """A processor that cannot ship until ``fixed``; counts what it shipped."""

    def __init__(self) -> None:
        self.shipped: list[str] = []
        self.fixed = False

    def ship(self, event: Event) -> None:
        if not self.fixed:
            raise RuntimeError(f"no stock for order {event.key}\nTraceback details")
        self.shipped.append(event.key)


@pytest.fixture
def warehouse() -> Warehouse:
    orders = EventStream("test.orders", payload=OrderEvent, key="order_id")
    found = Warehouse()
    subscribe(orders, found.ship)
    return found


def bury(*order_ids: int) -> list[DeadLetter]:
    """Deliver orders to the (broken) warehouse until they are dead letters."""
    orders = stream_named("test.orders")
    deliver_until_settled(GROUP, orders, received(orders, *(order(n) for n in order_ids)))
    assert DeadLetter.objects.count() == len(order_ids)
    return list(DeadLetter.objects.order_by("id"))


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("ucloud_deadletters", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# --- the command ---------------------------------------------------------------


def test_listing_with_no_dead_letters_says_so():
    assert run()[0] == "No unresolved dead letters.\n"


def test_listing_shows_each_unresolved_letter_with_its_error(warehouse):
    first, second = bury(1, 2)
    DeadLetter.objects.filter(id=second.id).update(resolved_at=timezone.now())

    out, _ = run()

    assert f"#{first.id}" in out
    assert f"#{second.id}" not in out
    assert "test.orders key=1" in out
    assert "attempts=2" in out
    assert "RuntimeError: no stock for order 1" in out
    assert "Traceback details" not in out  # first line of the error only
    assert out.endswith("1 unresolved dead letter(s).\n")


def test_retry_without_ids_retries_every_unresolved_letter_once(warehouse):
    letters = bury(1, 2)
    warehouse.fixed = True

    out, err = run("--retry")

    assert sorted(warehouse.shipped) == ["1", "2"]
    assert all(f"#{letter.id}: handled, resolved" in out for letter in letters)
    assert out.endswith("Retried 2: 2 handled, 0 still failing.\n")
    assert err == ""
    assert DeadLetter.objects.filter(resolved_at__isnull=True).count() == 0

    # Nothing is left to retry; the effect is not repeated.
    out, _ = run("--retry")
    assert out == "Retried 0: 0 handled, 0 still failing.\n"
    assert sorted(warehouse.shipped) == ["1", "2"]


def test_retry_with_ids_retries_only_those(warehouse):
    first, second = bury(1, 2)
    warehouse.fixed = True

    out, _ = run("--retry", str(second.id))

    assert out.endswith("Retried 1: 1 handled, 0 still failing.\n")
    assert warehouse.shipped == ["2"]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.resolved_at is None, second.resolved_at is None) == (True, False)


def test_retrying_a_resolved_letter_again_does_not_repeat_its_effect(warehouse):
    [letter] = bury(1)
    warehouse.fixed = True
    run("--retry", str(letter.id))

    out, _ = run("--retry", str(letter.id))

    assert out.startswith(f"#{letter.id}: already resolved, skipped")
    assert warehouse.shipped == ["1"]
    assert InboxEntry.objects.count() == 1


def test_a_letter_that_still_fails_is_reported_and_counts_an_attempt(warehouse):
    [letter] = bury(1)

    out, err = run("--retry")

    assert err == f"#{letter.id}: still failing: RuntimeError: no stock for order 1\n"
    assert out.endswith("Retried 1: 0 handled, 1 still failing.\n")
    letter.refresh_from_db()
    assert (letter.attempts, letter.resolved_at) == (3, None)


def test_unknown_ids_are_a_command_error_and_nothing_is_retried(warehouse):
    [letter] = bury(1)
    warehouse.fixed = True

    with pytest.raises(CommandError, match="No dead letter with id 998, 999"):
        run("--retry", str(letter.id), "999", "998")

    assert warehouse.shipped == []
    letter.refresh_from_db()
    assert letter.resolved_at is None


def test_a_letter_whose_processor_is_gone_is_reported_as_failing(warehouse):
    [letter] = bury(1)
    DeadLetter.objects.filter(id=letter.id).update(consumer="notifications:gone.processor")

    _, err = run("--retry")

    assert "No processor 'notifications:gone.processor' is registered" in err


# --- the admin -----------------------------------------------------------------


@pytest.fixture
def admin_client_of_root() -> Client:
    root = User.objects.create_superuser("root", "root@example.com", "root-secret-1")
    browser = Client()
    browser.force_login(root)
    return browser


CHANGELIST = "/admin/ucloud/deadletter/"


def retry_in_admin(browser: Client, letters: list[DeadLetter]):
    return browser.post(
        CHANGELIST,
        {"action": "retry", "_selected_action": [letter.id for letter in letters]},
        follow=True,
    )


def shown_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_admin_lists_dead_letters_filtered_by_resolution(warehouse, admin_client_of_root):
    first, second = bury(1, 2)
    DeadLetter.objects.filter(id=second.id).update(resolved_at=timezone.now())

    unresolved = admin_client_of_root.get(CHANGELIST, {"resolved": "no"})

    assert unresolved.status_code == 200
    assert [row.id for row in unresolved.context["cl"].result_list] == [first.id]
    assert b"RuntimeError: no stock for order 1" in unresolved.content
    assert b"Retry selected dead letters" in unresolved.content
    resolved = admin_client_of_root.get(CHANGELIST, {"resolved": "yes"})
    assert [row.id for row in resolved.context["cl"].result_list] == [second.id]


def test_admin_retry_action_handles_fixed_letters_once(warehouse, admin_client_of_root):
    letters = bury(1, 2)
    warehouse.fixed = True

    response = retry_in_admin(admin_client_of_root, letters)

    assert response.status_code == 200
    assert shown_messages(response) == ["2 dead letter(s) handled and resolved."]
    assert sorted(warehouse.shipped) == ["1", "2"]
    assert DeadLetter.objects.filter(resolved_at__isnull=True).count() == 0

    again = retry_in_admin(admin_client_of_root, letters)
    assert shown_messages(again) == ["2 dead letter(s) were already resolved."]
    assert sorted(warehouse.shipped) == ["1", "2"]


def test_admin_retry_action_reports_letters_still_failing(warehouse, admin_client_of_root):
    [letter] = bury(1)

    response = retry_in_admin(admin_client_of_root, [letter])

    assert shown_messages(response) == [
        f"1 dead letter(s) still failing: #{letter.id}: RuntimeError: no stock for order 1"
    ]
    letter.refresh_from_db()
    assert (letter.attempts, letter.resolved_at) == (3, None)


def test_admin_retry_needs_the_change_permission(warehouse):
    [letter] = bury(1)
    warehouse.fixed = True
    viewer = User.objects.create_user("viewer", password="viewer-secret-1", is_staff=True)
    viewer.user_permissions.add(*_permissions("view_deadletter"))
    browser = Client()
    browser.force_login(viewer)

    page = browser.get(CHANGELIST)
    assert page.status_code == 200
    assert b"Retry selected dead letters" not in page.content
    retry_in_admin(browser, [letter])
    assert warehouse.shipped == []


def _permissions(*codenames: str) -> list:
    from django.contrib.auth.models import Permission

    return list(Permission.objects.filter(content_type__app_label="ucloud", codename__in=codenames))


def test_admin_event_tables_are_read_only_lists(admin_client_of_root):
    OutboxEvent.objects.create(stream="test.orders", key="1", payload={})
    InboxEntry.objects.create(consumer="notifications:x", event_id=uuid.uuid4())
    for model in ("outboxevent", "inboxentry", "deadletter"):
        listing = admin_client_of_root.get(f"/admin/ucloud/{model}/")
        assert listing.status_code == 200
        assert admin_client_of_root.get(f"/admin/ucloud/{model}/add/").status_code == 403


def test_admin_outbox_filters_pending_rows(admin_client_of_root):
    waiting, sent = OutboxEvent.objects.bulk_create(
        OutboxEvent(stream="test.orders", key=key, payload={}) for key in ("1", "2")
    )
    OutboxEvent.objects.filter(id=sent.id).update(relayed_at=timezone.now())

    response = admin_client_of_root.get("/admin/ucloud/outboxevent/", {"relayed": "no"})

    assert [row.id for row in response.context["cl"].result_list] == [waiting.id]


def test_admin_finds_a_dead_letter_by_event_id(warehouse, admin_client_of_root):
    first, _ = bury(1, 2)

    response = admin_client_of_root.get(CHANGELIST, {"q": str(first.event_id)})

    assert [row.id for row in response.context["cl"].result_list] == [first.id]


def test_admin_shows_a_dead_letter_read_only_with_its_full_error(warehouse, admin_client_of_root):
    [letter] = bury(1)

    page = admin_client_of_root.get(f"{CHANGELIST}{letter.id}/change/")

    assert page.status_code == 200
    assert b"Traceback details" in page.content
    assert b'name="_save"' not in page.content


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_retrying_ids_needs_a_database_when_several_hold_dead_letters():
    from tests.ucloud.test_databases import own_databases

    # notifications on a database of its own: ids would be ambiguous.
    with own_databases("notifications"), pytest.raises(CommandError, match="--database"):
        call_command("ucloud_deadletters", "--retry", "1")
