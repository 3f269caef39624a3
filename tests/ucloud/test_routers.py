"""``ServiceRouter``: where each model is read and written, and which tables
``migrate`` creates on which alias, in one database and split apart."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.db import router
from django.test import override_settings

from apps.accounts.models import User
from apps.files.models import File, Share
from apps.notifications.models import Notification
from tests.ucloud.test_databases import own_databases
from ucloud.database_router import ServiceRouter
from ucloud.models import DeadLetter, OutboxEvent

pytestmark = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")

USER_APP_MODELS = [Group, Permission, ContentType, Session, LogEntry]
ALIASES = ["default", "accounts", "files", "notifications"]


def migrated_on(app_label: str) -> list[str]:
    """The aliases on which ``migrate`` would create ``app_label``'s tables."""
    return [alias for alias in ALIASES if ServiceRouter().allow_migrate(alias, app_label)]


def serving(*services: str) -> override_settings:
    return override_settings(UCLOUD={**settings.UCLOUD, "SERVICES": list(services)})


# ---------------------------------------------------------------- one database


def test_in_one_database_every_model_goes_to_default():
    for model in [User, File, Share, Notification, *USER_APP_MODELS]:
        assert router.db_for_read(model) == "default", model
        assert router.db_for_write(model) == "default", model


def test_in_one_database_everything_is_migrated_on_default_only():
    for app in ["accounts", "files", "notifications", "auth", "contenttypes", "ucloud"]:
        assert migrated_on(app) == ["default"], app


def test_apps_that_are_neither_services_nor_djangos_user_apps_stay_on_default():
    with own_databases("accounts", "files", "notifications"):
        assert migrated_on("some_library") == ["default"]


# ---------------------------------------------------------------- split apart


def test_a_services_models_go_to_its_own_database():
    with own_databases("files", "notifications"):
        assert router.db_for_write(File) == "files"
        assert router.db_for_read(Share) == "files"
        assert router.db_for_write(Notification) == "notifications"
        assert router.db_for_read(User) == "default"


def test_djangos_user_apps_follow_the_user_models_service():
    with own_databases("accounts"):
        for model in [User, *USER_APP_MODELS]:
            assert router.db_for_write(model) == "accounts", model
            assert router.db_for_read(model) == "accounts", model


def test_kit_models_go_where_the_caller_says():
    with own_databases("files"):
        assert ServiceRouter().db_for_write(OutboxEvent) is None
        outbox = OutboxEvent(stream="s", key="k", payload={})
        outbox._state.db = "files"
        assert router.db_for_write(OutboxEvent, instance=outbox) == "files"
        assert router.db_for_read(DeadLetter) == "default"


def test_each_alias_gets_its_services_tables_and_the_kits_tables():
    with own_databases("accounts", "files", "notifications"):
        assert migrated_on("accounts") == ["accounts"]
        assert migrated_on("files") == ["files"]
        assert migrated_on("notifications") == ["notifications"]
        for app in ["auth", "contenttypes", "admin", "sessions"]:
            assert migrated_on(app) == ["accounts"], app
        assert migrated_on("ucloud") == ALIASES


def test_a_mirror_alias_gets_no_tables_of_its_own():
    with own_databases("files"):
        assert migrated_on("accounts") == ["default"]
        assert migrated_on("auth") == ["default"]
        assert migrated_on("ucloud") == ["default", "files"]


# ---------------------------------------------------------------- served here


def test_a_units_database_holds_only_the_services_it_serves():
    # The files unit: DATABASE_URL is files' database, accounts is served elsewhere.
    with serving("files"):
        assert migrated_on("files") == ["default"]
        assert migrated_on("ucloud") == ["default"]
        assert migrated_on("accounts") == []
        assert migrated_on("auth") == []
        assert migrated_on("contenttypes") == []


def test_a_service_with_its_own_database_may_be_migrated_from_a_unit_not_serving_it():
    # The admin unit reaches every service's database and may migrate them (--all).
    with serving("accounts"), own_databases("files"):
        assert migrated_on("files") == ["files"]
        assert migrated_on("auth") == ["default"]
