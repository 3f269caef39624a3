"""Indexes the kit's tables declare beyond Django's own.

``TimeOrderedIndex`` indexes a column whose values grow with the order rows
are inserted in (a production or handling time): a BRIN index on
PostgreSQL, a B-tree on other databases::

    class Meta:
        indexes = [TimeOrderedIndex(fields=["created_at"], name="ucloud_outbox_created")]
"""

from __future__ import annotations

from typing import Any, cast

from django.db import models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.backends.ddl_references import Statement


class TimeOrderedIndex(models.Index):
    """BRIN (summarised as ranges of pages fill) on PostgreSQL, B-tree elsewhere.

    A B-tree takes an insert into its tree for every row written, and on the
    outbox for every row relayed too (relaying writes a new version of the
    row). A BRIN index keeps the lowest and highest value of each range of
    pages: next to nothing to maintain, and enough for what reads these
    columns (pruning, replay and re-indexing by time range), as rows are
    written in time order. It narrows less as freed space is reused by
    newer rows; those reads are then closer to a scan of the table, never
    wrong.
    """

    def create_sql(
        self,
        model: type[models.Model],
        schema_editor: BaseDatabaseSchemaEditor,
        using: str = "",
        **kwargs: Any,
    ) -> Statement:
        if schema_editor.connection.vendor != "postgresql":
            return super().create_sql(model, schema_editor, using=using, **kwargs)
        statement = super().create_sql(model, schema_editor, using=" USING brin", **kwargs)
        # Without autosummarize a new range stays unsummarised (read whole by
        # every query) until the next vacuum of the table.
        parts = cast("dict[str, Any]", statement.parts)  # the stubs type them all as tables
        parts["extra"] = f" WITH (autosummarize = on){parts['extra']}"
        return statement
