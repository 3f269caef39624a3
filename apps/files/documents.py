"""What files indexes for ``files.search``: a document per file.

``readers`` (the owner and everyone the file is shared with) is what a
search filters on, so a caller only ever finds files they may see. The
index follows ``files.events`` (``processors.py``), never model signals::

    search(FileDocument, "q3 budget", filters={"readers": "alice"})
"""

from __future__ import annotations

from django.db.models import QuerySet
from django_elasticsearch_dsl import Document, fields
from django_elasticsearch_dsl.registries import registry

from apps.files.models import File


@registry.register_document
class FileDocument(Document):
    path = fields.TextField()
    owner = fields.KeywordField()
    readers = fields.KeywordField(multi=True)
    size = fields.LongField()
    created_at = fields.DateField()

    class Index:
        name = "files"
        settings = {"number_of_shards": 1, "number_of_replicas": 0}

    class Django:
        model = File
        # Indexing follows files.events, in the files consumer group.
        ignore_signals = True
        auto_refresh = False

    def get_queryset(self) -> QuerySet[File]:
        return File.objects.prefetch_related("shares")

    def prepare_readers(self, file: File) -> list[str]:
        return [file.owner, *sorted(share.username for share in file.shares.all())]
