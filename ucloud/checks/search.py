"""Checks of search documents (W030).

A document that no processor indexes (``@indexes(Document)`` under a
``@processor``) stays empty, and a rebuild cannot catch up on its events::

    check_documents_indexed(documents=[FileDocument], indexed=set())   # [Warning(... W030)]
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Warning, register
from django_elasticsearch_dsl import Document

from ucloud.checks.base import TAG
from ucloud.search.documents import documents as service_documents
from ucloud.search.documents import spec_of
from ucloud.search.rebuild import indexers_of


@register(TAG)
def check_documents_indexed(
    app_configs: Sequence[AppConfig] | None = None,
    *,
    documents: Sequence[type[Document]] | None = None,
    indexed: Collection[type[Document]] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """W030: a service's document has no indexing processor."""
    found = service_documents() if documents is None else documents
    warnings: list[CheckMessage] = []
    for document in found:
        has_indexer = document in indexed if indexed is not None else bool(indexers_of(document))
        if has_indexer:
            continue
        spec = spec_of(document)
        warnings.append(
            Warning(
                f"{document.__module__}.{document.__name__} (index {spec.alias!r}) is indexed "
                "by no processor: it stays empty.",
                hint=f"In {spec.service}'s processors.py, put @indexes({document.__name__}) "
                "under a batched @processor of the stream telling of its objects.",
                obj=document,
                id="ucloud.W030",
            )
        )
    return warnings
