"""Which backend a service's search uses, and the words every backend shares."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from ucloud.search.backends import backend_for, backend_name
from ucloud.search.backends.database import DatabaseBackend
from ucloud.search.backends.elasticsearch import ElasticsearchBackend
from ucloud.search.backends.postgresql import PostgreSQLBackend, tsquery
from ucloud.search.text import highlight, query_words, words


def configure(settings, **values):
    settings.UCLOUD = {**settings.UCLOUD, "ELASTICSEARCH_URL": None, **values}


def test_elasticsearch_when_a_url_is_set(settings):
    configure(settings, ELASTICSEARCH_URL="http://127.0.0.1:9200")

    assert backend_name("files") == "elasticsearch"
    assert isinstance(backend_for("files"), ElasticsearchBackend)


def test_else_the_database_of_the_service_decides(settings):
    configure(settings)
    vendor = connections["default"].vendor

    expected = "postgresql" if vendor == "postgresql" else "database"
    assert backend_name("files") == expected
    kind = PostgreSQLBackend if vendor == "postgresql" else DatabaseBackend
    assert type(backend_for("files")) is kind


def test_a_named_backend_wins_and_an_unknown_one_is_refused(settings):
    configure(settings, SEARCH_BACKEND="database", ELASTICSEARCH_URL="http://127.0.0.1:9200")
    assert type(backend_for("files")) is DatabaseBackend

    configure(settings, SEARCH_BACKEND="solr")
    with pytest.raises(ImproperlyConfigured, match="solr"):
        backend_for("files")


def test_elasticsearch_without_a_url_is_refused(settings):
    configure(settings, SEARCH_BACKEND="elasticsearch")

    with pytest.raises(ImproperlyConfigured, match="ELASTICSEARCH_URL"):
        backend_for("files")


def test_words_are_letters_and_digits_in_lower_case_whatever_the_script():
    assert words("/reports/Q3-budget_final.PDF") == ["reports", "q3", "budget", "final", "pdf"]
    assert words("Ærø/Straße 2.txt") == ["ærø", "strasse", "2", "txt"]


def test_query_words_are_distinct_and_bounded():
    assert query_words("Budget budget q3 BUDGET") == ["budget", "q3"]
    assert len(query_words(" ".join(f"w{n}" for n in range(40)))) == 16
    assert query_words("--- ...") == []


def test_highlight_marks_each_word_a_query_word_begins_and_escapes_the_rest():
    assert highlight("/reports/Q3-budget.pdf", ["q3", "budg"]) == (
        "/reports/<em>Q3</em>-<em>budget</em>.pdf"
    )
    assert highlight("/<b>budget</b>", ["budget"]) == "/&lt;b&gt;<em>budget</em>&lt;/b&gt;"
    assert highlight("/plain.txt", []) == "/plain.txt"


def test_the_postgresql_query_is_every_word_as_a_quoted_prefix():
    assert tsquery(["q3", "budget"]) == "'q3':* & 'budget':*"
