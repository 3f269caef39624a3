"""The kit's testing helpers that tests of every service rely on."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from apps.files.models import File
from ucloud.testing import captured_queries

pytestmark = pytest.mark.django_db


def test_captured_queries_lists_each_statement():
    with captured_queries() as sql:
        File.objects.filter(owner="alice").count()
        File.objects.filter(owner="bob").exists()
    assert [statement.split()[0] for statement in sql] == ["SELECT", "SELECT"]


def test_captured_queries_leaves_out_savepoints():
    # The test's own transaction turns this atomic block into a savepoint.
    with captured_queries() as sql, transaction.atomic():
        assert connection.in_atomic_block
        File.objects.create(owner="alice", path="/a", size=1)
    assert [statement.split()[0] for statement in sql] == ["INSERT"]
