"""``ucloud.lockfile.rules``: every rule, each shown by a contract before and after.

Each case declares a call (or a stream) twice, as the code would before and
after a change, describes both as the lockfile does, and checks that the
comparison names the rule, whose verdict the rule table gives.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework import serializers

from ucloud.contracts.bindings import http_create, http_update
from ucloud.contracts.calls import Empty, call
from ucloud.contracts.errors import NotFound
from ucloud.contracts.pages import page_of
from ucloud.contracts.roles import Access, Roles
from ucloud.lockfile.describe import describe_call
from ucloud.lockfile.rules import RULES, compare
from ucloud.lockfile.shapes import describe_serializer


def shape(**fields: serializers.Field) -> type[serializers.Serializer]:
    return type("Shape", (serializers.Serializer,), dict(fields))


def contracts(service: str = "demo", **options: Any) -> dict[str, Any]:
    """A contract document with one call, ``demo.op``, declared with ``options``."""
    options.setdefault("request", Empty)
    options.setdefault("response", Empty)
    options.setdefault("http", http_create())
    described = call(**options)
    described.name, described.namespace = "op", "demo"
    return {"calls": {"demo.op": describe_call(described, service=service)}, "streams": {}}


def stream(key: str = "id", service: str = "demo", **fields: serializers.Field) -> dict[str, Any]:
    """A contract document with one stream, ``demo.events``, as ``describe_stream`` has it."""
    payload = shape(id=serializers.IntegerField(), **fields)
    described = {"service": service, "key": key, "payload": describe_serializer(payload)}
    return {"calls": {}, "streams": {"demo.events": described}}


def request(**fields: serializers.Field) -> dict[str, Any]:
    return contracts(request=shape(**fields))


def response(**fields: serializers.Field) -> dict[str, Any]:
    return contracts(response=shape(**fields))


def must_be_even(value: int) -> None:
    if value % 2:
        raise serializers.ValidationError("Odd.")


NOTHING: dict[str, Any] = {"calls": {}, "streams": {}}
MISSING = NotFound.declare("missing", "Gone.")
CHOICES = ["a", "b"]

CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("call-removed", contracts(), NOTHING),
    ("call-added", NOTHING, contracts()),
    ("call-rebound", contracts(http=http_create()), contracts(http=http_update("op"))),
    ("call-moved", contracts(service="demo"), contracts(service="other")),
    ("roles-narrowed", contracts(roles=Roles.END_USER), contracts(roles=Roles.ADMIN)),
    ("roles-widened", contracts(roles=Roles.ADMIN), contracts(roles=Roles.END_USER)),
    (
        "callers-narrowed",
        contracts(roles=Roles.PRIVILEGED),
        contracts(roles=Roles.PRIVILEGED, callers=("files",)),
    ),
    (
        "callers-widened",
        contracts(roles=Roles.PRIVILEGED, callers=("files",)),
        contracts(roles=Roles.PRIVILEGED, callers=("files", "notifications")),
    ),
    ("access-raised", contracts(access=Access.READ), contracts(access=Access.READ_WRITE)),
    ("access-lowered", contracts(access=Access.READ_WRITE), contracts(access=Access.READ)),
    ("audit-changed", contracts(audit=False), contracts(audit=True)),
    ("error-added", contracts(), contracts(errors=(MISSING,))),
    ("error-removed", contracts(errors=(MISSING,)), contracts()),
    (
        "error-described",
        contracts(errors=(MISSING,)),
        contracts(errors=(NotFound.declare("missing", "No longer there."),)),
    ),
    ("stream-removed", stream(), NOTHING),
    ("stream-added", NOTHING, stream()),
    (
        "stream-key-changed",
        stream(key="id", kind=serializers.CharField()),
        stream(key="kind", kind=serializers.CharField()),
    ),
    ("stream-moved", stream(service="demo"), stream(service="other")),
    # Requests: judged for old callers sending what they used to.
    ("request-field-added-required", request(), request(name=serializers.CharField())),
    ("request-field-added", request(), request(name=serializers.CharField(required=False))),
    ("request-field-removed", request(name=serializers.CharField()), request()),
    (
        "request-field-now-required",
        request(name=serializers.CharField(required=False)),
        request(name=serializers.CharField()),
    ),
    (
        "request-field-now-optional",
        request(name=serializers.CharField()),
        request(name=serializers.CharField(required=False)),
    ),
    (
        "request-type-changed",
        request(n=serializers.CharField()),
        request(n=serializers.IntegerField()),
    ),
    (
        "request-type-widened",
        request(n=serializers.IntegerField()),
        request(n=serializers.FloatField()),
    ),
    (
        "request-null-refused",
        request(n=serializers.CharField(allow_null=True)),
        request(n=serializers.CharField()),
    ),
    (
        "request-null-allowed",
        request(n=serializers.CharField()),
        request(n=serializers.CharField(allow_null=True)),
    ),
    (
        "request-default-changed",
        request(n=serializers.IntegerField(default=1)),
        request(n=serializers.IntegerField(default=2)),
    ),
    (
        "request-choices-narrowed",
        request(c=serializers.ChoiceField(CHOICES)),
        request(c=serializers.ChoiceField(["a"])),
    ),
    (
        "request-choices-widened",
        request(c=serializers.ChoiceField(["a"])),
        request(c=serializers.ChoiceField(CHOICES)),
    ),
    (
        "request-limit-tightened",
        request(n=serializers.CharField(max_length=10)),
        request(n=serializers.CharField(max_length=5)),
    ),
    (
        "request-limit-relaxed",
        request(n=serializers.IntegerField(min_value=5)),
        request(n=serializers.IntegerField(min_value=1)),
    ),
    (
        "request-pattern-added",
        request(n=serializers.CharField()),
        request(n=serializers.RegexField(r"^[a-z]+\Z")),
    ),
    (
        "request-pattern-removed",
        request(n=serializers.RegexField(r"^[a-z]+\Z")),
        request(n=serializers.CharField()),
    ),
    (
        "request-validator-added",
        request(n=serializers.IntegerField()),
        request(n=serializers.IntegerField(validators=[must_be_even])),
    ),
    (
        "request-validator-removed",
        request(n=serializers.IntegerField(validators=[must_be_even])),
        request(n=serializers.IntegerField()),
    ),
    # Responses: judged for old callers reading what they used to.
    ("response-field-removed", response(size=serializers.IntegerField()), response()),
    ("response-field-added", response(), response(size=serializers.IntegerField())),
    (
        "response-field-now-optional",
        response(size=serializers.IntegerField()),
        response(size=serializers.IntegerField(required=False)),
    ),
    (
        "response-field-now-present",
        response(size=serializers.IntegerField(required=False)),
        response(size=serializers.IntegerField()),
    ),
    (
        "response-type-changed",
        response(size=serializers.IntegerField()),
        response(size=serializers.CharField()),
    ),
    (
        "response-type-narrowed",
        response(size=serializers.FloatField()),
        response(size=serializers.IntegerField()),
    ),
    (
        "response-field-now-nullable",
        response(size=serializers.IntegerField()),
        response(size=serializers.IntegerField(allow_null=True)),
    ),
    (
        "response-field-now-non-null",
        response(size=serializers.IntegerField(allow_null=True)),
        response(size=serializers.IntegerField()),
    ),
    (
        "response-choices-widened",
        response(c=serializers.ChoiceField(["a"])),
        response(c=serializers.ChoiceField(CHOICES)),
    ),
    (
        "response-choices-narrowed",
        response(c=serializers.ChoiceField(CHOICES)),
        response(c=serializers.ChoiceField(["a"])),
    ),
    (
        "response-limit-relaxed",
        response(n=serializers.CharField(max_length=5)),
        response(n=serializers.CharField(max_length=10)),
    ),
    (
        "response-limit-tightened",
        response(n=serializers.CharField(max_length=10)),
        response(n=serializers.CharField(max_length=5)),
    ),
    (
        "response-pattern-removed",
        response(n=serializers.RegexField(r"^[a-z]+\Z")),
        response(n=serializers.CharField()),
    ),
    (
        "response-pattern-added",
        response(n=serializers.CharField()),
        response(n=serializers.RegexField(r"^[a-z]+\Z")),
    ),
]


@pytest.mark.parametrize(("rule", "before", "after"), CASES, ids=[case[0] for case in CASES])
def test_the_rule_judges_its_change(rule, before, after):
    changes = compare(before, after)

    assert [change.rule for change in changes] == [rule]
    assert changes[0].breaking is RULES[rule]


def test_every_rule_has_a_before_and_after_case():
    assert {case[0] for case in CASES} == set(RULES)


def test_the_same_contract_has_no_change():
    assert compare(contracts(errors=(MISSING,)), contracts(errors=(MISSING,))) == []


def test_a_change_names_the_call_the_field_and_the_rule():
    change = compare(response(size=serializers.IntegerField()), response())[0]
    assert str(change) == (
        "demo.op: response field `size`: removed [response-field-removed, breaking]"
    )
    assert change.text == "response field `size`: removed [response-field-removed]"


def test_nested_fields_are_named_by_their_path():
    class Item(serializers.Serializer):
        size = serializers.IntegerField()

    class Smaller(serializers.Serializer):
        pass

    before = contracts(response=page_of(Item))
    after = contracts(response=page_of(Smaller))

    assert [str(change) for change in compare(before, after)] == [
        "demo.op: response field `items[].size`: removed [response-field-removed, breaking]"
    ]


def test_a_stream_payload_is_judged_by_the_breaking_verdict_of_either_side():
    # A new required field breaks producers' old events (request rules) though
    # readers would not mind (response rules); a field that may now be absent
    # breaks readers though producers would not mind.
    added = compare(stream(), stream(path=serializers.CharField()))
    optional = compare(
        stream(path=serializers.CharField()), stream(path=serializers.CharField(required=False))
    )
    new_optional = compare(stream(), stream(path=serializers.CharField(required=False)))

    assert [change.rule for change in added] == ["request-field-added-required"]
    assert [change.rule for change in optional] == ["response-field-now-optional"]
    assert [(change.rule, change.breaking) for change in new_optional] == [
        ("request-field-added", False)
    ]
    assert str(added[0]).startswith("demo.events: payload field `path`: added, required")
