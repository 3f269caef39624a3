"""The inbox records which events a consumer handled: ``record_new`` adds
entries for the new ids only and says which they were, in the caller's
transaction (on PostgreSQL in one statement, elsewhere a lookup and an
insert)."""

from __future__ import annotations

import uuid

import pytest
from django.db import transaction

from ucloud.events import inbox
from ucloud.models import InboxEntry

pytestmark = pytest.mark.django_db(transaction=True)

CONSUMER = "notifications:tests.inbox"


def _ids(count: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(count)]


def test_record_new_records_and_returns_only_the_new_ids():
    old, new = _ids(2), _ids(3)
    inbox.record("default", CONSUMER, old)

    with transaction.atomic():
        fresh = inbox.record_new("default", CONSUMER, [old[0], *new, old[1]])

    assert fresh == set(new)
    assert inbox.handled("default", CONSUMER, [*old, *new]) == {*old, *new}
    assert InboxEntry.objects.filter(consumer=CONSUMER).count() == 5


def test_an_id_given_twice_is_recorded_once():
    twice = _ids(1)[0]
    with transaction.atomic():
        assert inbox.record_new("default", CONSUMER, [twice, twice]) == {twice}
    assert InboxEntry.objects.filter(consumer=CONSUMER).count() == 1


def test_another_consumer_keeps_an_inbox_of_its_own():
    shared = _ids(2)
    inbox.record("default", CONSUMER, shared)
    with transaction.atomic():
        assert inbox.record_new("default", "search:tests.inbox", shared) == set(shared)


def _record_then_fail(ids: list[str]) -> None:
    with transaction.atomic():
        assert inbox.record_new("default", CONSUMER, ids) == set(ids)
        raise RuntimeError("the processor failed")


def test_entries_roll_back_with_the_transaction():
    ids = _ids(3)
    with pytest.raises(RuntimeError):
        _record_then_fail(ids)

    assert inbox.handled("default", CONSUMER, ids) == set()
    with transaction.atomic():
        assert inbox.record_new("default", CONSUMER, ids) == set(ids)


def test_nothing_to_record():
    assert inbox.record_new("default", CONSUMER, []) == set()
