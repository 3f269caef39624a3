"""``ucloud.serving``: parsing the topology settings and what this process serves."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from ucloud import serving
from ucloud.contracts.errors import ServiceUnavailable
from ucloud.serving import parse_service_urls, parse_services


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        (" , ", None),
        ("all", None),
        (["all"], None),
        ("files", ["files"]),
        (" accounts , files ,", ["accounts", "files"]),
        (["files", " accounts "], ["files", "accounts"]),
        (("files",), ["files"]),
    ],
)
def test_parse_services(value, expected):
    assert parse_services(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, {}),
        ("", {}),
        ("accounts=http://a:1", {"accounts": "http://a:1"}),
        (
            " accounts = http://a:1 , files=http://b:2/x?y=1 ,",
            {"accounts": "http://a:1", "files": "http://b:2/x?y=1"},
        ),
        ({"files": "http://b:2"}, {"files": "http://b:2"}),
    ],
)
def test_parse_service_urls(value, expected):
    assert parse_service_urls(value) == expected


@pytest.mark.parametrize("entry", ["accounts", "=http://a:1", "accounts=", "accounts=  "])
def test_malformed_service_url_entry_is_improperly_configured(entry):
    with pytest.raises(ImproperlyConfigured, match="name=url"):
        parse_service_urls(f"files=http://b:2,{entry}")


def test_every_installed_service_is_served_by_default():
    with override_settings(UCLOUD={}):
        assert serving.served_services() == frozenset(
            {"accounts", "files", "notifications", "audit"}
        )
        assert serving.is_served("accounts")


def test_services_setting_narrows_what_is_served():
    with override_settings(UCLOUD={"SERVICES": "files"}):
        assert serving.served_services() == frozenset({"files"})
        assert not serving.is_served("accounts")
    # The cache follows the settings back.
    assert serving.is_served("accounts")


def test_unknown_service_is_improperly_configured():
    with (
        override_settings(UCLOUD={"SERVICES": ["files", "billing"]}),
        pytest.raises(ImproperlyConfigured, match="billing"),
    ):
        serving.served_services()


def test_service_url_prefers_the_service_entry_and_drops_trailing_slash():
    with override_settings(
        UCLOUD={"SERVICE_URLS": {"accounts": "http://acc:1/"}, "GATEWAY_URL": "http://gw/"}
    ):
        assert serving.service_url("accounts") == "http://acc:1"
        assert serving.service_url("files") == "http://gw"


def test_service_url_accepts_the_environment_string_form():
    with override_settings(UCLOUD={"SERVICE_URLS": "accounts=http://acc:1"}):
        assert serving.service_url("accounts") == "http://acc:1"


def test_service_url_without_any_url_is_503_service_not_configured():
    with override_settings(UCLOUD={}), pytest.raises(ServiceUnavailable) as info:
        serving.service_url("accounts")
    assert (info.value.status, info.value.error_code) == (503, "service_not_configured")
