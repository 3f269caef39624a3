"""Django's PostgreSQL backend, with batches that fit server-side binding.

With ``server_side_binding`` (the kit's default for PostgreSQL, so that
psycopg can prepare repeated statements) every parameter travels in the
protocol's Bind message, which holds at most 65,535 of them; with Django's
default client-side binding they were inlined into the text and had no such
limit. Django 5.2 still sizes its batches for the latter, so a
``bulk_create`` of many rows or a ``delete()`` whose cascade gathers many
keys fails with "number of parameters must be between 0 and 65535". This
backend sizes both to fit. ``ucloud.databases`` sets it as the ``ENGINE``
of the PostgreSQL aliases it binds on the server::

    DATABASES = {"default": {"ENGINE": "ucloud.db.postgresql", "NAME": "shop",
                             "OPTIONS": {"server_side_binding": True}}}
    File.objects.bulk_create(files)             # 100,000 rows: batches of 65,535 // fields
    File.objects.filter(owner="ann").delete()   # shares of 100,000 files: likewise

A single ``filter(id__in=...)`` with more than 65,535 values still fails:
Django does not split those (chunk the list, or use a subquery).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.backends.postgresql import base, operations

# A Bind message counts its parameters in 16 bits.
MAX_PARAMETERS = 65535


class DatabaseOperations(operations.DatabaseOperations):
    def bulk_batch_size(self, fields: Sequence[Any], objs: Sequence[Any]) -> int:
        if not self.connection.features.uses_server_side_binding:
            return super().bulk_batch_size(fields, objs)
        per_object = max(len(fields), 1)
        return max(min(len(objs), MAX_PARAMETERS // per_object), 1)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
