"""Text and JSON from callers, made fit for audit records (``ucloud.audit.cleaning``)."""

from __future__ import annotations

import datetime

import pytest

from ucloud.audit.cleaning import json_safe, text


@pytest.mark.parametrize(
    ("value", "limit", "expected"),
    [
        ("plain", None, "plain"),
        ("a\x00b", None, "a\ufffdb"),
        ("lone \ud800 and \udfff", None, "lone \ufffd and \ufffd"),
        ("a pair \ud83d\ude00 stays", None, "a pair 😀 stays"),
        ("x" * 10, 4, "xxxx"),
        (None, 10, ""),
        (42, None, "42"),
    ],
)
def test_text_replaces_what_postgresql_and_the_stream_refuse(value, limit, expected):
    found = text(value, limit)
    assert found == expected
    found.encode("utf-8")  # no surrogate left


def test_json_safe_cleans_keys_and_values_at_any_depth_and_writes_odd_numbers_as_text():
    data = {
        "k\x00": [{"v": "\ud800"}, float("inf"), -float("inf"), 1.5, 7, True, None],
        3: (datetime.date(2024, 1, 2),),
    }
    assert json_safe(data) == {
        "k\ufffd": [{"v": "\ufffd"}, "inf", "-inf", 1.5, 7, True, None],
        "3": ["2024-01-02"],
    }
