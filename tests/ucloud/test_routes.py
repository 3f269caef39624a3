"""``ucloud.rpc.routes``: one URL route per path, built from the implemented calls."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import override_settings
from django.urls import resolve

from apps.accounts.api import AccountDescriptions
from apps.files.api import FileDescriptions
from ucloud.contracts.bindings import http_create, http_retrieve
from ucloud.contracts.calls import CallDescriptionContainer, Empty, call
from ucloud.rpc.context import CallContext
from ucloud.rpc.controllers import Controller, implement
from ucloud.rpc.routes import api_urlpatterns

# Test contracts claim a module inside the files app, so that the registry
# counts them as calls of the files service (they are never imported).
FILES_MODULE = "apps.files.routes_test_contract"


def routes() -> dict[str, Any]:
    return {str(pattern.pattern): pattern for pattern in api_urlpatterns()}


def test_every_call_of_the_served_services_has_a_route():
    served = routes()
    for container in (AccountDescriptions, FileDescriptions):
        for described in container.calls():
            pattern = served[described.path]
            view = pattern.callback
            assert view.initkwargs["ucloud_calls"][described.http.method.lower()] is described


def test_calls_sharing_a_path_share_one_route():
    view = routes()["api/files"].callback
    assert view.initkwargs["ucloud_calls"] == {
        "post": FileDescriptions.create,
        "delete": FileDescriptions.delete,
    }
    assert routes()["api/files"].name == "files.create-files.delete"


def test_only_bound_methods_are_allowed_and_head_only_with_get():
    served = routes()
    assert served["api/files"].callback.initkwargs["http_method_names"] == [
        "delete",
        "post",
        "options",
    ]
    assert served["api/files/browse"].callback.initkwargs["http_method_names"] == [
        "get",
        "head",
        "options",
    ]


def test_project_urls_resolve_to_the_generated_routes():
    match = resolve("/api/files/browse")
    assert match.url_name == "files.browse"
    assert resolve("/api/accounts/users/retrieve").url_name == "accounts.retrieve_user"


def test_only_services_served_here_get_routes():
    with override_settings(UCLOUD={"SERVICES": ["files"]}):
        served = routes()
    assert "api/files/browse" in served
    assert not any(route.startswith("api/accounts") for route in served)


def test_serving_an_unknown_service_answers_503_misconfigured_on_every_api_path(rf):
    # Building the routes must not raise, or manage.py check could not report E005.
    with override_settings(UCLOUD={"SERVICES": ["files", "billing"]}):
        patterns = api_urlpatterns()

    assert [pattern.name for pattern in patterns] == ["ucloud-misconfigured"]
    match = patterns[0].resolve("api/files/browse")
    assert match is not None
    response = match.func(rf.get("/api/files/browse"))
    assert response.status_code == 503
    assert json.loads(response.content) == {
        "why": "UCLOUD_SERVICES names unknown service(s) billing; "
        "installed: accounts, audit, files, notifications",
        "error_code": "misconfigured",
    }


def test_two_controllers_on_one_path_are_a_type_error(kit_registries):
    class Clash(CallDescriptionContainer):
        __module__ = FILES_MODULE
        namespace = "clash"
        one = call(request=Empty, response=Empty, http=http_create())
        two = call(request=Empty, response=Empty, http=http_retrieve(""))

    class First(Controller):
        @implement(Clash.one)
        def one(self, ctx: CallContext) -> dict[str, Any]:
            return {}

    class Second(Controller):
        @implement(Clash.two)
        def two(self, ctx: CallContext) -> dict[str, Any]:
            return {}

    with pytest.raises(TypeError, match="api/clash is served by both"):
        api_urlpatterns()


def test_two_calls_on_one_method_and_path_are_a_type_error(kit_registries):
    class Clash(CallDescriptionContainer):
        __module__ = FILES_MODULE
        namespace = "clash"
        one = call(request=Empty, response=Empty, http=http_create())
        two = call(request=Empty, response=Empty, http=http_create())

    class Both(Controller):
        @implement(Clash.one)
        def one(self, ctx: CallContext) -> dict[str, Any]:
            return {}

        @implement(Clash.two)
        def two(self, ctx: CallContext) -> dict[str, Any]:
            return {}

    with pytest.raises(TypeError, match="POST /api/clash is bound to both"):
        api_urlpatterns()
