"""The glue between a service's ``documents.py`` and the search backends.

A service declares what it indexes as django-elasticsearch-dsl documents;
the kit reads from each one an ``IndexSpec``: the alias searches go to, the
text fields whose words are matched, the keyword fields filters apply to,
and the Elasticsearch mapping. ``prepare`` turns model instances into what
every backend stores::

    @registry.register_document                 # django_elasticsearch_dsl.registries
    class FileDocument(Document):
        path = fields.TextField()
        readers = fields.KeywordField(multi=True)
        class Index:
            name = "files"
        class Django:
            model = File
            ignore_signals = True               # indexing follows files.events

    spec = spec_of(FileDocument)                # spec.alias == "files"
    prepared = prepare(FileDocument, File.objects.filter(id__in=ids))

Documents are never synchronised by model signals: the kit does not install
django_elasticsearch_dsl's app, so no signal processor exists; indexing
follows the service's events (``ucloud.search.indexing``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.signals import setting_changed
from django.db.models import Model
from django_elasticsearch_dsl import Document
from django_elasticsearch_dsl.registries import registry as document_registry

from ucloud import registry
from ucloud.search.text import words_of
from ucloud.settings import ucloud_settings

# Fields the kit adds to every Elasticsearch index: the words of the text
# fields (split by the kit, so every backend agrees) and the id, for ties.
WORDS_FIELD = "ucloud_words"
ID_FIELD = "ucloud_id"


@dataclass(frozen=True)
class Prepared:
    """One document as every backend stores it."""

    id: str
    body: dict[str, Any]
    # The words of the text fields, lower case, space-separated.
    words: str
    # Keyword field -> its values as text (filters match one of them).
    keywords: dict[str, list[str]]


@dataclass(frozen=True)
class IndexSpec:
    document: type[Document]
    service: str
    # The name searches and writes go to; a rebuild moves it to a new index.
    alias: str
    text_fields: tuple[str, ...]
    keyword_fields: tuple[str, ...]

    def elasticsearch_body(self) -> dict[str, Any]:
        """``settings`` and ``mappings`` of a new Elasticsearch index."""
        mapping = self.document._doc_type.mapping.to_dict()
        properties = dict(mapping.get("properties", {}))
        # Words are split by the kit; whitespace keeps them as they are.
        properties[WORDS_FIELD] = {"type": "text", "analyzer": "whitespace"}
        properties[ID_FIELD] = {"type": "keyword"}
        settings = self.document._index.to_dict().get("settings", {})
        return {"settings": settings, "mappings": {**mapping, "properties": properties}}


def _fields_of(document: type[Document], kind: str) -> tuple[str, ...]:
    properties = document._doc_type.mapping.to_dict().get("properties", {})
    return tuple(name for name, field in properties.items() if field.get("type") == kind)


_specs: dict[type[Document], IndexSpec] = {}


def spec_of(document: type[Document]) -> IndexSpec:
    found = _specs.get(document)
    if found is None:
        found = _specs[document] = _spec(document)
    return found


def _spec(document: type[Document]) -> IndexSpec:
    name = document._index._name
    return IndexSpec(
        document=document,
        service=registry.service_of_module(document.__module__),
        alias=f"{ucloud_settings.SEARCH_INDEX_PREFIX}{name}",
        text_fields=_fields_of(document, "text"),
        keyword_fields=_fields_of(document, "keyword"),
    )


def _as_texts(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        return [str(item) for item in value if item is not None]
    return [str(value)]


def prepare(document: type[Document], objects: Iterable[Model]) -> list[Prepared]:
    """Each object that ``should_index_object`` admits, prepared by the document."""
    spec = spec_of(document)
    instance = document()
    # What Document.prepare() does, with the preparers taken here: with
    # elasticsearch 9's DSL the instance attribute that prepare() reads is
    # swallowed into the document's data, and prepare() returns {}.
    preparers = instance.init_prepare()
    found = []
    for obj in objects:
        if not instance.should_index_object(obj):
            continue
        body = {name: prepare_value(obj) for name, _, prepare_value in preparers}
        found.append(
            Prepared(
                id=str(instance.generate_id(obj)),
                body=body,
                words=words_of(body.get(name) for name in spec.text_fields),
                keywords={name: _as_texts(body.get(name)) for name in spec.keyword_fields},
            )
        )
    return found


def documents() -> list[type[Document]]:
    """Every registered document of an installed service, by alias."""
    found = []
    for document in document_registry.get_documents():
        try:
            registry.service_of_module(document.__module__)
        except LookupError:
            continue  # declared outside any service
        found.append(document)
    return sorted(found, key=lambda document: spec_of(document).alias)


def documents_of(service: str) -> list[type[Document]]:
    return [document for document in documents() if spec_of(document).service == service]


def _forget_specs(*, setting: str, **kwargs: Any) -> None:
    # The index prefix may have changed.
    if setting == "UCLOUD":
        _specs.clear()


setting_changed.connect(_forget_specs)
