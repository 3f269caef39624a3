"""The files contract: the path rule as the OpenAPI pattern states it and as
the validator checks it are the same rule."""

from __future__ import annotations

import re

import pytest
from rest_framework import serializers

from apps.files.api import PATH_PATTERN, PathValidator

PATHS = [
    "/a",
    "/a/b.txt",
    "/.hidden",
    "/..x",
    "/...",
    "/a b/ c ",
    "/a/.b/..c",
    "a",
    "",
    "/",
    "//a",
    "/a/",
    "/.",
    "/..",
    "/a/./b",
    "/a/../b",
    "/a\x00b",
    "/\x00",
]


@pytest.mark.parametrize("path", PATHS)
def test_the_documented_pattern_accepts_exactly_the_paths_the_validator_accepts(path):
    try:
        PathValidator()(path)
        valid = True
    except serializers.ValidationError:
        valid = False
    assert bool(re.match(PATH_PATTERN, path)) is valid


def test_the_validator_says_which_part_of_the_rule_a_path_breaks():
    with pytest.raises(serializers.ValidationError, match="absolute"):
        PathValidator()("a/b")
    with pytest.raises(serializers.ValidationError, match=r"'\.\.' segments"):
        PathValidator()("/a/../b")
    with pytest.raises(serializers.ValidationError, match="NUL"):
        PathValidator()("/a\x00b")
