"""The database search backends' tables, migrated into every service database.

``SearchEntry`` holds one indexed document per row: its body (what hits
return), the words of its text fields, its keyword values (what filters
match) and, on PostgreSQL, a ``tsvector`` of the words; GIN indexes serve
the words and the filters, and ``pg_trgm`` (created by the migration) ranks
by trigram similarity. ``SearchAlias`` says which index an alias means, so that
a rebuild fills a new index and switches at once. Imported by
``ucloud.models`` so that Django finds them::

    SearchEntry.objects.using("files").filter(index="files-initial").count()
"""

from __future__ import annotations

from django.contrib.postgres.search import SearchVectorField
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class SearchEntry(models.Model):
    index = models.CharField(max_length=200)
    doc_id = models.CharField(max_length=200)
    body = models.JSONField(encoder=DjangoJSONEncoder)
    words = models.TextField(blank=True)
    keywords = models.JSONField(default=dict)
    # PostgreSQL only (to_tsvector('simple', words)); NULL elsewhere.
    vector = SearchVectorField(null=True)

    class Meta:
        app_label = "ucloud"
        verbose_name_plural = "search entries"
        constraints = [
            models.UniqueConstraint(fields=["index", "doc_id"], name="ucloud_search_once"),
        ]

    def __str__(self) -> str:
        return f"{self.index}/{self.doc_id}"


class SearchAlias(models.Model):
    name = models.CharField(max_length=200, unique=True)
    index = models.CharField(max_length=200)
    switched_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "ucloud"
        verbose_name_plural = "search aliases"

    def __str__(self) -> str:
        return f"{self.name} -> {self.index}"
