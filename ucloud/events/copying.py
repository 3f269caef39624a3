"""Bulk inserts of the kit's event tables: PostgreSQL ``COPY`` for big batches.

``COPY`` is several times cheaper per row than the multi-row ``INSERT`` the
ORM builds, for the outbox rows of a large produce (the inbox has a cheaper
way still: ``ucloud.events.inbox``); small batches are not worth the extra
statement::

    copy_rows("default", OutboxEvent, ("event_id", "stream", "key", "payload"), rows)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections
from django.db.models import Field, Model

COPY_THRESHOLD = 100


def worth_copying(alias: str, count: int) -> bool:
    return count >= COPY_THRESHOLD and connections[alias].vendor == "postgresql"


def copy_rows(
    alias: str, model: type[Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows`` (values in the order of ``fields``) with ``COPY``."""
    columns = [model._meta.get_field(name) for name in fields]
    names = ", ".join(f'"{field.column}"' for field in columns if isinstance(field, Field))
    statement = f'COPY "{model._meta.db_table}" ({names}) FROM STDIN'
    with connections[alias].cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
