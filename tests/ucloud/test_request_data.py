"""``ucloud.rpc.request_data``: one value per single-valued query field, every value for
lists, and only declared fields in a body."""

from __future__ import annotations

import pytest
from django.http import QueryDict
from rest_framework import serializers

from apps.files.api import FileDescriptions
from ucloud.contracts.errors import BadRequest
from ucloud.contracts.pages import BrowseRequest
from ucloud.rpc.request_data import body_errors, query_request
from ucloud.testing import client_for, token_for


class Pick(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField())
    flavours = serializers.MultipleChoiceField(choices=["a", "b"], required=False)
    limit = serializers.IntegerField(default=5)


def test_single_values_become_plain_values_and_unknown_parameters_pass_through():
    data = query_request(BrowseRequest, QueryDict("items_per_page=5&next=9&other=1&other=2"))
    assert data == {"items_per_page": "5", "next": "9", "other": "2"}


def test_list_fields_take_every_value_even_a_single_one():
    assert query_request(Pick, QueryDict("ids=1&ids=2&flavours=a&limit=3")) == {
        "ids": ["1", "2"],
        "flavours": ["a"],
        "limit": "3",
    }


def test_a_repeated_single_valued_field_is_a_400_naming_each_field():
    with pytest.raises(BadRequest) as info:
        query_request(BrowseRequest, QueryDict("items_per_page=5&items_per_page=7&next=1&next=2"))
    assert info.value.error_code == "invalid_request"
    assert info.value.errors == {
        "items_per_page": ["Expected one value, got 2."],
        "next": ["Expected one value, got 2."],
    }


@pytest.mark.django_db
def test_browse_over_http_refuses_a_repeated_parameter_instead_of_keeping_the_last(client):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for('alice')}"}

    response = client.get("/api/files/browse?items_per_page=5&items_per_page=7", **auth)

    assert response.status_code == 400
    assert response.json() == {
        "why": "Invalid request",
        "error_code": "invalid_request",
        "errors": {"items_per_page": ["Expected one value, got 2."]},
    }
    assert client.get("/api/files/browse?items_per_page=5", **auth).status_code == 200


# --- bodies ---------------------------------------------------------------------


class Inner(serializers.Serializer):
    title = serializers.CharField()


class Order(serializers.Serializer):
    name = serializers.CharField()
    count = serializers.IntegerField()
    ratio = serializers.FloatField(required=False)
    urgent = serializers.BooleanField(required=False)
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    notes = serializers.DictField(child=serializers.IntegerField(), required=False)
    inner = Inner(required=False)
    when = serializers.DateTimeField(required=False)
    kind = serializers.ChoiceField(choices=[1, 2], required=False)


def test_a_body_of_declared_fields_and_json_types_has_no_errors():
    body = {
        "name": "a",
        "count": 1,
        "ratio": 2,
        "urgent": False,
        "tags": ["x"],
        "notes": {"k": 3},
        "inner": {"title": "b"},
        "when": "2026-01-01T00:00:00Z",
        "kind": 2,
    }
    assert body_errors(Order(), body) == {}


def test_an_unknown_field_and_values_of_another_json_type_are_field_errors():
    body = {
        "name": 5,
        "count": "5",
        "ratio": True,
        "urgent": "yes",
        "tags": ["x", 7],
        "notes": {"k": "3"},
        "inner": {"title": 1},
        "nmae": "typo",
    }
    assert body_errors(Order(), body) == {
        "nmae": ["Unknown field."],
        "name": ["Not a valid string."],
        "count": ["A valid integer is required."],
        "ratio": ["A valid number is required."],
        "urgent": ["Must be a valid boolean."],
        "tags": {"1": ["Not a valid string."]},
        "notes": {"k": ["A valid integer is required."]},
        "inner": {"title": ["Not a valid string."]},
    }


def test_containers_of_the_wrong_kind_are_named_as_drf_names_them():
    assert body_errors(Order(), {"tags": "x", "notes": [1], "inner": "y"}) == {
        "tags": ['Expected a list of items but got type "str".'],
        "notes": ['Expected a dictionary of items but got type "list".'],
        "inner": {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]},
    }


def test_nulls_dates_and_a_body_that_is_not_an_object_are_left_to_the_serializer():
    assert body_errors(Order(), {"name": None, "when": 5}) == {}
    assert body_errors(Order(), ["not", "an", "object"]) == {}


@pytest.mark.django_db
def test_create_over_http_refuses_a_number_for_a_path_and_an_unknown_field(client):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for('alice')}"}

    response = client.post(
        "/api/files",
        {"path": 5, "size": "1", "owner": "bob"},
        content_type="application/json",
        **auth,
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "path": ["Not a valid string."],
        "size": ["A valid integer is required."],
        "owner": ["Unknown field."],
    }


def test_in_process_calls_are_held_to_the_same_body_rules():
    with pytest.raises(BadRequest) as info:
        FileDescriptions.create.call({"path": "/a", "size": 1, "sise": 2}, client_for("alice"))
    assert info.value.errors == {"sise": ["Unknown field."]}
