"""The fast payload plan agrees with DRF: for every payload it vouches for,
its answer is exactly ``serializer.data`` after validation; everything else
it leaves to DRF."""

from __future__ import annotations

import random
from typing import Any

from rest_framework import serializers

from apps.files.api import FileEvent
from ucloud.events.payloads import compile_plan


class Flat(serializers.Serializer):
    name = serializers.CharField(max_length=8, min_length=2)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    free = serializers.CharField(required=False)
    maybe = serializers.CharField(required=False, allow_null=True)
    count = serializers.IntegerField(min_value=0, max_value=100)
    flag = serializers.BooleanField(required=False, default=False)
    kind = serializers.ChoiceField(choices=["a", "b"])
    raw = serializers.CharField(trim_whitespace=False, required=False)


def drf(serializer_class: type[serializers.Serializer], payload: Any) -> dict | None:
    found = serializer_class(data=payload)
    return dict(found.data) if found.is_valid() else None


VALUES: list[Any] = [
    None, "", " ", "ab", " ab", "abcdefghi", "a\x00b", "\ud800x", "x", "a", "b", "c",
    0, 1, -1, 100, 101, True, False, 1.0, "1", "true", [], {},
]  # fmt: skip


# Values each field mostly gets, so that many payloads are valid.
LIKELY = {
    "name": ["ab", "abcdefgh", "x"], "note": ["", "n"], "free": ["f"], "maybe": [None, "m"],
    "count": [0, 7, 100], "flag": [True, False], "kind": ["a", "b"], "raw": [" r ", "r"],
}  # fmt: skip


def test_the_plan_gives_what_drf_gives_or_defers_to_it():
    plan = compile_plan(Flat)
    assert plan is not None
    chance = random.Random(11)
    vouched = 0
    for _ in range(4000):
        payload = {}
        for name, likely in LIKELY.items():
            if chance.random() < 0.9:  # sometimes missing
                pool = VALUES if chance.random() < 0.15 else likely  # sometimes anything
                payload[name] = chance.choice(pool)
        fast = plan.validate_many([payload])
        expected = drf(Flat, payload)
        if fast is not None:
            vouched += 1
            assert fast == [expected], payload  # vouched: DRF accepts it, alike
    assert vouched > 500  # the generator does reach valid payloads


def test_the_plan_covers_the_files_events_and_matches_drf():
    plan = compile_plan(FileEvent)
    assert plan is not None
    payload = {"type": "file_shared", "file_id": 3, "owner": "alice", "path": "/a",
               "shared_with": "bob", "extra": 1}  # fmt: skip
    assert plan.validate_many([payload]) == [drf(FileEvent, payload)]
    without_optional = {"type": "file_created", "file_id": 3, "owner": "a", "path": "/a"}
    assert plan.validate_many([without_optional]) == [drf(FileEvent, without_optional)]


def test_serializers_with_their_own_rules_get_no_plan():
    class Checked(serializers.Serializer):
        name = serializers.CharField()

        def validate_name(self, value: str) -> str:
            return value.upper()

    class Dated(serializers.Serializer):
        at = serializers.DateTimeField()

    class Email(serializers.Serializer):
        to = serializers.EmailField()

    assert compile_plan(Checked) is None
    assert compile_plan(Dated) is None
    assert compile_plan(Email) is None
