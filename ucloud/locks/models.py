"""The kit's fence table (``ucloud.locks.fence``), migrated into every service database.

Imported by ``ucloud.models`` so that Django finds it::

    LockFence.objects.using("files").get(name="files.reindex").fence
"""

from __future__ import annotations

from django.db import models

from ucloud.locks.fence import FENCE_TABLE


class LockFence(models.Model):
    """The highest fencing token that wrote under one lock name, in this database."""

    name = models.CharField(max_length=255, primary_key=True)
    fence = models.BigIntegerField()

    class Meta:
        app_label = "ucloud"
        db_table = FENCE_TABLE

    def __str__(self) -> str:
        return f"{self.name}: {self.fence}"
