"""The inbox records which events a consumer handled: ``record_new`` adds
entries for the new ids only and says which they were, in the caller's
transaction (on PostgreSQL in one statement, or for a large batch a plain
insert in a savepoint; elsewhere a lookup and an insert); a processor's
transaction writes them before its effect."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.ucloud.events.eventing import GROUP, order, received, subscribe
from ucloud.events import inbox
from ucloud.events.delivery import deliver
from ucloud.models import InboxEntry
from ucloud.testing import captured_queries

pytestmark = pytest.mark.django_db(transaction=True)

CONSUMER = "notifications:tests.inbox"


def _ids(count: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(count)]


def test_record_new_records_and_returns_only_the_new_ids():
    old, new = _ids(2), _ids(3)
    inbox.record_new("default", CONSUMER, old)

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
    inbox.record_new("default", CONSUMER, shared)
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


# The order within a processor's transaction: inbox entries, then the effect.
# Deliveries that took the two in opposite orders (one batch, one event
# alone) deadlocked when two processes delivered overlapping events.


def _seen_by(processor_id: list[str], seen: list[bool]):
    """A processor function noting whether its events' inbox entries already
    exist in its own transaction when it runs."""

    def function(events):
        batch = events if isinstance(events, list) else [events]
        ids = [event.event_id for event in batch]
        seen.append(inbox.handled("default", processor_id[0], ids) == set(ids))

    return function


@pytest.mark.parametrize("batched", [True, False])
def test_the_inbox_entries_are_written_before_the_effect(orders, batched):
    seen: list[bool] = []
    processor_id: list[str] = []
    proc = subscribe(orders, _seen_by(processor_id, seen), batched=batched)
    processor_id.append(proc.id)

    outcome = deliver(GROUP, orders, received(orders, order(1), order(2)), attempts={})

    assert len(outcome.done) == 2
    assert seen == ([True] if batched else [True, True])  # one batch, or each alone


def test_an_event_alone_after_a_failed_batch_has_its_entry_first(orders):
    seen: list[bool] = []
    processor_id: list[str] = []
    noting = _seen_by(processor_id, seen)

    def fails_in_batches(events):
        if len(events) > 1:
            raise RuntimeError("one of them is bad")
        noting(events)

    proc = subscribe(orders, fails_in_batches, batched=True)
    processor_id.append(proc.id)

    outcome = deliver(GROUP, orders, received(orders, order(1), order(2)), attempts={})

    assert len(outcome.done) == 2
    assert seen == [True, True]  # each alone, its entry already written


def test_ids_come_back_as_the_caller_spelled_them():
    """An id without hyphens or in capitals is recognised: the database gives
    ids back in canonical form, and a mismatch would make a new event look
    handled (never processed) or a handled one new (processed again)."""
    plain, upper = uuid.uuid4().hex, str(uuid.uuid4()).upper()
    with transaction.atomic():
        assert inbox.record_new("default", CONSUMER, [plain, upper]) == {plain, upper}
    assert inbox.handled("default", CONSUMER, [plain, upper]) == {plain, upper}
    with transaction.atomic():
        assert inbox.record_new("default", CONSUMER, [plain, upper]) == set()


def test_events_with_ids_spelled_otherwise_are_processed_once(orders):
    seen: list[str] = []
    subscribe(orders, lambda events: seen.extend(e.event_id for e in events), batched=True)
    events = [
        item._replace(event_id=uuid.UUID(item.event_id).hex)
        for item in received(orders, order(1), order(2))
    ]

    first = deliver(GROUP, orders, events, attempts={})
    again = deliver(GROUP, orders, events, attempts={})

    assert sorted(first.done) == sorted(again.done) == sorted(e.event_id for e in events)
    assert sorted(seen) == sorted(e.event_id for e in events)  # handled, and only once


@pytest.mark.parametrize("batched", [True, False])
def test_an_event_delivered_alone_asks_the_inbox_once(orders, batched):
    """A lone event (eager delivery of a request's event, a retry) goes
    straight to its inbox entry: the statement that writes it also says
    whether it was handled before, so no lookup precedes it."""
    subscribe(orders, lambda events: None, batched=batched)
    events = received(orders, order(1))

    with captured_queries() as first:
        assert deliver(GROUP, orders, events, attempts={}).done == [events[0].event_id]
    with captured_queries() as again:
        assert deliver(GROUP, orders, events, attempts={}).done == [events[0].event_id]

    # One transaction: the inbox entry (on SQLite a lookup, then the insert)
    # and the effect (none here). The second time nothing is inserted.
    record = ["INSERT"] if connection.vendor == "postgresql" else ["SELECT", "INSERT"]
    assert [sql.split()[0] for sql in first] == ["BEGIN", *record, "COMMIT"]
    assert [sql.split()[0] for sql in again] == ["BEGIN", *record[:1], "COMMIT"]
    assert InboxEntry.objects.filter(event_id=events[0].event_id).count() == 1


# A large batch is first tried with a plain insert in a savepoint (one check
# of the unique index per row instead of two); a batch holding an id already
# there falls back to the insert that skips it.


def test_a_large_new_batch_is_recorded_with_one_plain_insert():
    ids = _ids(inbox.PLAIN_INSERT_FROM)

    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        assert inbox.record_new("default", CONSUMER, ids) == set(ids)

    statements = [query["sql"].split()[0].upper() for query in captured.captured_queries]
    if connection.vendor == "postgresql":
        assert statements == ["SAVEPOINT", "INSERT", "RELEASE"]
        assert "ON CONFLICT" not in captured.captured_queries[1]["sql"]
    else:
        assert statements == ["SELECT", "INSERT"]
    assert inbox.handled("default", CONSUMER, ids) == set(ids)
    assert InboxEntry.objects.filter(consumer=CONSUMER).count() == len(ids)


@pytest.mark.parametrize("in_transaction", [True, False])
def test_a_large_batch_with_old_ids_records_only_the_new_ones(in_transaction):
    old, new = _ids(2), _ids(inbox.PLAIN_INSERT_FROM)
    inbox.record_new("default", CONSUMER, old)
    batch = [old[0], *new, old[1]]

    if in_transaction:
        with transaction.atomic():
            fresh = inbox.record_new("default", CONSUMER, batch)
            # The failed plain insert left the transaction usable.
            assert InboxEntry.objects.filter(consumer=CONSUMER).count() == len(batch)
    else:
        fresh = inbox.record_new("default", CONSUMER, batch)

    assert fresh == set(new)
    assert InboxEntry.objects.filter(consumer=CONSUMER).count() == len(batch)


def test_a_large_batch_holding_an_id_twice_records_it_once():
    ids = _ids(inbox.PLAIN_INSERT_FROM)
    with transaction.atomic():
        assert inbox.record_new("default", CONSUMER, [*ids, ids[0]]) == set(ids)
    assert InboxEntry.objects.filter(consumer=CONSUMER).count() == len(ids)


def test_a_large_redelivered_batch_runs_its_effect_once(orders):
    seen: list[str] = []
    subscribe(orders, lambda events: seen.extend(e.event_id for e in events), batched=True)
    events = received(orders, *(order(number) for number in range(inbox.PLAIN_INSERT_FROM)))

    first = deliver(GROUP, orders, events, attempts={})
    again = deliver(GROUP, orders, events, attempts={})

    ids = sorted(event.event_id for event in events)
    assert sorted(first.done) == sorted(again.done) == ids
    assert sorted(seen) == ids  # handled, and only once
