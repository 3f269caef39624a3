"""A consumer's inbox: which events it handled, looked up and recorded in batches.

An inbox entry commits with the processor's effect, so a redelivered event
is found here and skipped. Both operations take a whole batch (up to
``STREAM_BATCH_SIZE`` events) in one statement (a large batch seen for the
first time: a plain insert in a savepoint)::

    seen = handled("default", processor.id, ["3f0c...", "9a1b..."])   # {"3f0c..."}
    with transaction.atomic():
        fresh = record_new("default", processor.id, ["3f0c...", "77d2..."])  # {"77d2..."}
        ...                                   # the effect, for those only
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from ucloud.models import InboxEntry


def handled(alias: str, consumer: str, event_ids: Sequence[str]) -> set[str]:
    """The ids among ``event_ids`` that ``consumer``'s inbox already holds
    (as ``event_ids`` spells them)."""
    if not event_ids:
        return set()
    if connections[alias].vendor == "postgresql":
        return _as_given(event_ids, _probed(alias, consumer, event_ids))
    seen = InboxEntry.objects.using(alias).filter(consumer=consumer, event_id__in=event_ids)
    return _as_given(event_ids, {str(value) for value in seen.values_list("event_id", flat=True)})


def _as_given(event_ids: Sequence[str], found: set[str]) -> set[str]:
    """The ids of ``event_ids`` whose canonical form (what the database gives
    back) is in ``found``, spelled as the caller spelled them: an id without
    hyphens or in capitals must still be recognised, or its event would be
    taken for new (handled again) or for done (never handled)."""
    given = {event_id for event_id in event_ids if event_id in found}
    if len(given) == len(found):
        return given  # every id came back as it went (the relay's are canonical)
    return {event_id for event_id in event_ids if _canonical(event_id) in found}


def _canonical(event_id: str) -> str:
    try:
        return str(uuid.UUID(event_id))
    except ValueError:
        return event_id


# The ids travel as one comma-separated text parameter that the server
# splits: binding a list makes the driver build an array value in Python,
# element by element (a tenth of a consumer's CPU at 500 ids a batch).
_IDS = "unnest(string_to_array(%s, ',')::uuid[])"


# From this many ids, a batch's entries are first tried with a plain insert
# in a savepoint (``record_new``). ``ON CONFLICT`` costs PostgreSQL a probe
# of the unique index for each row before inserting it (29 % of the server's
# time in a profile of the insert), and the insert checks the same index
# again; a plain insert checks it once. In the events benchmark the
# consumers' database CPU per event fell from about 23 to 16 us. A batch
# holding an id seen before (a redelivery) fails the plain insert and takes
# the ``ON CONFLICT`` way after it. The savepoint's two extra round trips
# are worth it for large batches only.
PLAIN_INSERT_FROM = 100


@functools.cache
def _statements() -> tuple[str, str, str]:
    """The lookup, the insert of new entries and the plain insert of all,
    made once (the model's names do not change)."""
    meta = InboxEntry._meta
    consumer, event_id, handled_at = (
        str(getattr(meta.get_field(name), "column", name))
        for name in ("consumer", "event_id", "handled_at")
    )
    table = meta.db_table
    # One probe of the (consumer, event_id) unique index per id. The plain
    # "consumer = %s AND event_id IN (...)" lets the planner read every entry
    # of the consumer when its statistics are stale (a fresh table, a burst
    # between two autovacuum runs): 10-25 ms per batch of 500 at 50,000
    # entries, growing with the inbox. The LIMIT keeps the subquery from
    # being flattened into a join, so each id is one index lookup whatever
    # the statistics say.
    lookup = (
        f'SELECT found."{event_id}"::text FROM {_IDS} AS wanted(id) '
        f'CROSS JOIN LATERAL (SELECT entry."{event_id}" FROM "{table}" entry '
        f'WHERE entry."{consumer}" = %s AND entry."{event_id}" = wanted.id '
        f"LIMIT 1) found"
    )
    # One statement whatever the batch's size, and no Python per row (the
    # ORM's bulk_create builds a model instance for each). The unique index
    # decides which entries are new, in the same statement: no lookup
    # beforehand, and a concurrent delivery of the same event waits for the
    # other's transaction instead of failing with it.
    insert_new = (
        f'INSERT INTO "{table}" ("{consumer}", "{event_id}", "{handled_at}") '
        f"SELECT %s, id, %s FROM {_IDS} AS id "
        f'ON CONFLICT ("{consumer}", "{event_id}") DO NOTHING RETURNING "{event_id}"::text'
    )
    insert_all = insert_new.partition(" ON CONFLICT")[0]
    return lookup, insert_new, insert_all


def _probed(alias: str, consumer: str, event_ids: Sequence[str]) -> set[str]:
    with connections[alias].cursor() as cursor:
        cursor.execute(_statements()[0], [",".join(event_ids), consumer])
        return {row[0] for row in cursor.fetchall()}


def record_new(alias: str, consumer: str, event_ids: Sequence[str]) -> set[str]:
    """Inbox entries for the ids among ``event_ids`` that ``consumer``'s inbox
    does not hold yet (in the caller's transaction); those ids."""
    if not event_ids:
        return set()
    if connections[alias].vendor == "postgresql":
        params: list[Any] = [consumer, timezone.now(), ",".join(event_ids)]
        if len(event_ids) >= PLAIN_INSERT_FROM and _all_inserted(alias, params):
            return set(event_ids)
        with connections[alias].cursor() as cursor:
            cursor.execute(_statements()[1], params)
            return _as_given(event_ids, {row[0] for row in cursor.fetchall()})
    seen = handled(alias, consumer, event_ids)
    fresh = [event_id for event_id in dict.fromkeys(event_ids) if event_id not in seen]
    InboxEntry.objects.using(alias).bulk_create(
        [InboxEntry(consumer=consumer, event_id=event_id) for event_id in fresh]
    )
    return set(fresh)


def _all_inserted(alias: str, params: list[Any]) -> bool:
    """An entry for every id, with a plain insert; False (and nothing
    inserted) when one of them is in the inbox already or given twice."""
    try:
        with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
            cursor.execute(_statements()[2], params)
    except IntegrityError:
        return False
    return True
