"""File metadata. ``owner`` and share targets are usernames, not foreign keys:
users live in the accounts service, which may run elsewhere."""

from __future__ import annotations

from django.db import models
from django.db.models import F
from django.db.models.functions import MD5


class File(models.Model):
    path = models.CharField(max_length=4096)
    size = models.BigIntegerField()
    owner = models.CharField(max_length=150, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # On the path's MD5, not the path: PostgreSQL cannot index a
            # B-tree entry over ~2700 bytes, and paths may be 4096 characters.
            models.UniqueConstraint(F("owner"), MD5("path"), name="files_unique_owner_path"),
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.owner}:{self.path}"


class Share(models.Model):
    file = models.ForeignKey(File, on_delete=models.CASCADE, related_name="shares")
    username = models.CharField(max_length=150, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["file", "username"], name="files_unique_share"),
        ]

    def __str__(self) -> str:
        return f"{self.file} -> {self.username}"
