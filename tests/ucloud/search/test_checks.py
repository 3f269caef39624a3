"""W030: a search document no processor indexes."""

from __future__ import annotations

from apps.files.documents import FileDocument
from ucloud.checks import check_documents_indexed


def test_the_shipped_documents_all_have_an_indexer():
    assert check_documents_indexed() == []


def test_a_document_without_an_indexer_is_a_warning_naming_it():
    (warning,) = check_documents_indexed(documents=[FileDocument], indexed=set())

    assert warning.id == "ucloud.W030"
    assert "apps.files.documents.FileDocument (index 'files')" in warning.msg
    assert "@indexes(FileDocument)" in warning.hint
