"""``ucloud.rpc.prepared``: one serializer instance per class, DRF's results and errors."""

from __future__ import annotations

import datetime

import pytest
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from apps.files.api import CreateFileRequest, File, MoveFileRequest
from ucloud.contracts.pages import page_of
from ucloud.rpc.prepared import prepared, represent, validate_data

NOW = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
FILE = {
    "id": 1,
    "path": "/a",
    "size": 3,
    "owner": "alice",
    "shared_with": ["bob"],
    "created_at": NOW,
}


class Counted(serializers.Serializer):
    """Counts its instances."""

    made = 0
    name = serializers.CharField(max_length=3)

    def __init__(self, *args, **kwargs) -> None:
        type(self).made += 1
        super().__init__(*args, **kwargs)


class NotShared(Counted):
    """Say, one that reads its context: a new instance per call."""

    prepared = False


@pytest.mark.parametrize(
    "data",
    [
        {"path": "/a", "size": "12"},
        {"path": "relative", "size": -1},
        {"size": 1},
        {},
        ["not", "a", "dict"],
        "text",
    ],
)
def test_validation_gives_what_is_valid_gives(data):
    serializer = CreateFileRequest(data=data)
    if serializer.is_valid():
        assert validate_data(CreateFileRequest, data) == serializer.validated_data
        return
    with pytest.raises(ValidationError) as info:
        validate_data(CreateFileRequest, data)
    assert info.value.detail == serializer.errors
    codes = {key: [e.code for e in value] for key, value in serializer.errors.items()}
    assert {key: [e.code for e in value] for key, value in info.value.detail.items()} == codes


def test_inherited_fields_are_validated_too():
    with pytest.raises(ValidationError) as info:
        validate_data(MoveFileRequest, {"id": 0, "new_path": "/b"})
    assert list(info.value.detail) == ["id"]


def test_rendering_gives_what_data_gives():
    assert represent(File, FILE) == File(FILE).data
    page = {"items": [FILE, {**FILE, "id": 2}], "next": "2"}
    assert represent(page_of(File), page) == page_of(File)(page).data


def test_rendering_none_gives_the_initial_data_as_data_does():
    assert represent(File, None) == File(None).data


def test_one_instance_serves_every_call():
    Counted.made = 0
    for name in ("a", "bb", "ccc"):
        assert validate_data(Counted, {"name": name}) == {"name": name}
        assert represent(Counted, {"name": name}) == {"name": name}
    with pytest.raises(ValidationError):
        validate_data(Counted, {"name": "dddd"})
    assert Counted.made == 1
    assert prepared(Counted) is prepared(Counted)


def test_a_serializer_that_is_not_prepared_gets_an_instance_per_call():
    NotShared.made = 0
    assert validate_data(NotShared, {"name": "a"}) == {"name": "a"}
    assert represent(NotShared, {"name": "a"}) == {"name": "a"}
    with pytest.raises(ValidationError) as info:
        validate_data(NotShared, {"name": "abcd"})
    assert list(info.value.detail) == ["name"]
    assert NotShared.made == 3
