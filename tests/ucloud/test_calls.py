"""Call descriptions, HTTP bindings and pages (``calls``, ``bindings``, ``pages``)."""

from __future__ import annotations

import pytest
from rest_framework import serializers

from apps.accounts.api import AccountDescriptions
from apps.files.api import File, FileDescriptions
from ucloud.contracts.bindings import (
    HttpBinding,
    RequestSource,
    http_browse,
    http_create,
    http_delete,
    http_retrieve,
    http_search,
    http_update,
)
from ucloud.contracts.calls import CallDescriptionContainer, Empty, call, containers
from ucloud.contracts.pages import MAX_ITEMS_PER_PAGE, BrowseRequest, page_of
from ucloud.contracts.roles import Access, Role, Roles


class Item(serializers.Serializer):
    name = serializers.CharField()


class OtherItem(serializers.Serializer):
    name = serializers.CharField()


def test_container_fills_in_name_namespace_and_container():
    create = FileDescriptions.create
    assert create.name == "create"
    assert create.namespace == "files"
    assert create.container is FileDescriptions
    assert create.full_name == "files.create"
    assert repr(create) == "<CallDescription files.create>"


def test_scope_is_full_name_and_access():
    assert FileDescriptions.create.scope == "files.create:write"
    assert FileDescriptions.browse.scope == "files.browse:read"
    assert AccountDescriptions.retrieve_user.scope == "accounts.retrieve_user:read"


def test_paths_follow_the_bindings():
    assert FileDescriptions.create.path == "api/files"
    assert FileDescriptions.browse.path == "api/files/browse"
    assert FileDescriptions.retrieve.path == "api/files/retrieve"
    assert FileDescriptions.move.path == "api/files/move"
    assert FileDescriptions.delete.path == "api/files"
    assert AccountDescriptions.retrieve_user.path == "api/accounts/users/retrieve"


def test_dotted_namespace_becomes_nested_path():
    assert HttpBinding("GET", "x").path("a.b") == "api/a/b/x"


def test_convention_helpers_pick_method_and_source():
    assert http_create() == HttpBinding("POST", "", RequestSource.BODY)
    assert http_browse() == HttpBinding("GET", "browse", RequestSource.QUERY)
    assert http_retrieve() == HttpBinding("GET", "retrieve", RequestSource.QUERY)
    assert http_search() == HttpBinding("POST", "search", RequestSource.BODY)
    assert http_update("move") == HttpBinding("POST", "move", RequestSource.BODY)
    assert http_delete() == HttpBinding("DELETE", "", RequestSource.BODY)


def test_calls_lists_every_call_of_a_container():
    names = {c.name for c in AccountDescriptions.calls()}
    assert names == {
        "login",
        "refresh",
        "logout",
        "whoami",
        "change_password",
        "create_user",
        "deactivate_user",
        "retrieve_user",
    }


def test_call_defaults_are_end_user_read_without_audit():
    described = call(request=Empty, response=Empty, http=http_retrieve())
    assert described.roles == Roles.END_USER
    assert described.access is Access.READ
    assert described.audit is False
    assert described.name == ""  # not yet in a container


def test_roles_are_frozen_into_a_set(kit_registries):
    class Sample(CallDescriptionContainer):
        namespace = "sample_roles"
        ping = call(
            request=Empty,
            response=Empty,
            http=http_retrieve("ping"),
            roles=[Role.ADMIN, Role.ADMIN],
        )

    assert Sample.ping.roles == frozenset({Role.ADMIN})


def test_container_without_namespace_is_a_type_error(kit_registries):
    with pytest.raises(TypeError, match="namespace"):

        class Nameless(CallDescriptionContainer):
            pass


def test_containers_are_registered_by_namespace(kit_registries):
    assert containers()["files"] is FileDescriptions
    assert containers()["accounts"] is AccountDescriptions

    class Sample(CallDescriptionContainer):
        namespace = "sample_registry"

    assert containers()["sample_registry"] is Sample


def test_page_of_returns_one_class_per_item_type():
    assert page_of(Item) is page_of(Item)
    assert page_of(Item) is not page_of(OtherItem)
    assert page_of(Item).__name__ == "PageOfItem"
    assert FileDescriptions.browse.response is page_of(File)


def test_page_of_renders_items_and_next():
    page = page_of(Item)({"items": [{"name": "a"}, {"name": "b"}], "next": None})
    assert page.data == {"items": [{"name": "a"}, {"name": "b"}], "next": None}


def test_browse_request_defaults_and_limits():
    default = BrowseRequest(data={})
    assert default.is_valid()
    assert default.validated_data == {"items_per_page": 50}
    too_many = BrowseRequest(data={"items_per_page": MAX_ITEMS_PER_PAGE + 1})
    assert not too_many.is_valid()
    assert "items_per_page" in too_many.errors
    blank_next = BrowseRequest(data={"next": ""})
    assert not blank_next.is_valid()
