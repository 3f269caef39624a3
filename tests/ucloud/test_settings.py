"""``ucloud.settings``: defaults, overrides through ``UCLOUD`` and unknown keys."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from ucloud.settings import DEFAULTS, UcloudSettings, ucloud_settings


def test_defaults_apply_when_ucloud_does_not_name_a_key():
    with override_settings(UCLOUD={}):
        assert DEFAULTS["HTTP_READ_TIMEOUT"] == ucloud_settings.HTTP_READ_TIMEOUT
        assert ucloud_settings.ACCESS_TOKEN_LIFETIME == 600
        assert ucloud_settings.JWT_ALGORITHM == "HS256"
        assert ucloud_settings.SERVICES is None
        assert ucloud_settings.FORCE_HTTP is False


def test_missing_ucloud_setting_means_all_defaults():
    with override_settings():
        from django.conf import settings

        del settings.UCLOUD
        fresh = UcloudSettings()
        assert fresh.SERVICE_URLS == {}
        assert fresh.GATEWAY_URL is None


def test_override_settings_reloads_values_and_restores_them():
    before = ucloud_settings.HTTP_READ_TIMEOUT
    with override_settings(UCLOUD={"HTTP_READ_TIMEOUT": 1.25, "FORCE_HTTP": True}):
        assert ucloud_settings.HTTP_READ_TIMEOUT == 1.25
        assert ucloud_settings.FORCE_HTTP is True
    assert before == ucloud_settings.HTTP_READ_TIMEOUT


def test_unknown_ucloud_key_is_improperly_configured():
    with (
        override_settings(UCLOUD={"READ_TIMEOUT": 3}),
        pytest.raises(ImproperlyConfigured, match="READ_TIMEOUT"),
    ):
        _ = ucloud_settings.HTTP_READ_TIMEOUT


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="NOT_A_SETTING"):
        _ = ucloud_settings.NOT_A_SETTING
