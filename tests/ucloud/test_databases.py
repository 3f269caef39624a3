"""``ucloud.databases``: DATABASES built from the environment, the alias of
each service, and the streams and processors that follow a service's alias.

Tests that give a service a database of its own override ``DATABASES`` for
the functions that read it; no connection to that database is opened.
"""

from __future__ import annotations

import copy
import io
import json
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.test import override_settings

from apps.files.api import files_events
from apps.files.models import File, Share
from tests.conftest import require
from tests.ucloud.events.eventing import OrderEvent, registries_restored, subscribe
from ucloud import databases
from ucloud.databases import alias_for, aliases_for, atomic, database_settings, home_app
from ucloud.events.streams import EventStream

# override_settings warns that DATABASES is "complex" to override; these
# tests only read the setting, they never connect to the overridden aliases.
pytestmark = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")

SERVICES = ["accounts", "files", "notifications"]
PG = "postgres://postgres@127.0.0.1:5432"


def own_databases(*services: str) -> override_settings:
    """``DATABASES`` as if each of ``services`` had a database of its own."""
    changed = copy.deepcopy(settings.DATABASES)
    for service in services:
        own = copy.deepcopy(changed["default"])
        own["TEST"] = {}
        own["NAME"] = f"ucloud_{service}"
        changed[service] = own
    return override_settings(DATABASES=changed)


# ---------------------------------------------------------------- settings


def test_without_per_service_urls_every_service_alias_mirrors_default():
    found = database_settings(SERVICES, environ={"DATABASE_URL": f"{PG}/shop"}, default_url="")

    assert list(found) == ["default", *SERVICES]
    assert found["default"]["NAME"] == "shop"
    for service in SERVICES:
        assert found[service]["NAME"] == "shop"
        assert found[service]["TEST"] == {"MIRROR": "default"}


def test_a_service_url_gives_that_service_a_database_of_its_own():
    environ = {"DATABASE_URL": f"{PG}/shop", "DATABASE_URL_FILES": f"{PG}/shop_files"}

    found = database_settings(SERVICES, environ=environ, default_url="")

    assert found["files"]["NAME"] == "shop_files"
    assert found["files"]["ENGINE"] == "ucloud.db.postgresql"
    assert "MIRROR" not in found["files"].get("TEST", {})
    assert found["accounts"]["TEST"] == {"MIRROR": "default"}


def test_a_service_url_naming_the_default_database_is_still_a_mirror():
    # A unit's environment sets DATABASE_URL_<SERVICE> = DATABASE_URL for its services.
    environ = {"DATABASE_URL": f"{PG}/shop", "DATABASE_URL_FILES": f"{PG}/shop"}

    found = database_settings(SERVICES, environ=environ, default_url="")

    assert found["files"]["TEST"] == {"MIRROR": "default"}


def test_the_default_url_applies_when_database_url_is_unset():
    found = database_settings(["files"], environ={}, default_url="sqlite:////tmp/x.sqlite3")

    assert found["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert found["files"]["NAME"] == "/tmp/x.sqlite3"


def test_mirrors_are_copies_so_options_set_on_one_alias_stay_there():
    found = database_settings(["files"], environ={}, default_url="sqlite:////tmp/x.sqlite3")

    found["default"]["OPTIONS"] = {"timeout": 1}

    assert found["files"].get("OPTIONS") != {"timeout": 1}


def test_the_url_variable_of_a_service_is_its_upper_case_label():
    assert databases.url_variable("notifications") == "DATABASE_URL_NOTIFICATIONS"


def test_the_project_settings_have_an_alias_per_service_and_the_router():
    assert set(settings.DATABASES) >= {"default", *SERVICES}
    assert settings.DATABASE_ROUTERS == ["ucloud.database_router.ServiceRouter"]


# ---------------------------------------------------------------- prepared statements

PREPARED = {"server_side_binding": True, "prepare_threshold": databases.PREPARE_THRESHOLD}


def test_postgresql_aliases_prepare_repeated_statements_by_default():
    environ = {"DATABASE_URL": f"{PG}/shop", "DATABASE_URL_FILES": f"{PG}/shop_files"}

    found = database_settings(SERVICES, environ=environ, default_url="")

    for alias in ("default", "files", "accounts"):
        assert found[alias]["OPTIONS"] == PREPARED


@pytest.mark.parametrize("value", ["false", "0", "off", "no", " False "])
def test_the_environment_can_turn_prepared_statements_off(value):
    environ = {"DATABASE_URL": f"{PG}/shop", "DATABASE_PREPARED_STATEMENTS": value}

    found = database_settings(SERVICES, environ=environ, default_url="")

    assert "server_side_binding" not in found["default"].get("OPTIONS", {})
    assert "prepare_threshold" not in found["files"].get("OPTIONS", {})
    assert found["default"]["ENGINE"] == "django.db.backends.postgresql"


def test_sqlite_gets_no_postgresql_options():
    found = database_settings(["files"], environ={}, default_url="sqlite:////tmp/x.sqlite3")

    assert not found["default"].get("OPTIONS")


@pytest.mark.django_db
def test_postgresql_prepares_a_statement_run_often_unless_turned_off():
    connection = connections["default"]
    require(connection.vendor == "postgresql", "PostgreSQL as the default database")
    # The suite may run with DATABASE_PREPARED_STATEMENTS=false: both ways are checked.
    expected = "prepare_threshold" in connection.settings_dict["OPTIONS"]
    for _ in range(databases.PREPARE_THRESHOLD + 1):
        list(File.objects.filter(owner="someone"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert (
        any('FROM "files_file" WHERE "files_file"."owner" = $1' in s for s in prepared) is expected
    )


@pytest.mark.django_db
def test_a_cascade_over_more_keys_than_one_statement_may_bind_still_deletes():
    connection = connections["default"]
    require(connection.vendor == "postgresql", "PostgreSQL as the default database")
    # More than server-side binding's 65,535 parameters: the shares of these
    # files are deleted by key, and Django sized that batch for client-side
    # binding ("number of parameters must be between 0 and 65535").
    count = 70_000
    File.objects.bulk_create(
        File(owner="bulky", path=f"/bulk/{number}", size=number) for number in range(count)
    )
    kept = File.objects.create(owner="someone", path="/kept", size=1)
    Share.objects.create(file=File.objects.filter(owner="bulky").first(), username="ann")

    total, per_model = File.objects.filter(owner="bulky").delete()

    assert per_model == {"files.File": count, "files.Share": 1}
    assert total == count + 1
    assert list(File.objects.values_list("id", flat=True)) == [kept.id]


def test_bulk_batches_fit_the_parameters_of_one_bind_message():
    from ucloud.db.postgresql.base import MAX_PARAMETERS, DatabaseOperations

    class Features:
        uses_server_side_binding = True

    class Connection:
        features = Features()

    ops = DatabaseOperations(Connection())
    fields = ["path", "size", "owner", "created_at"]
    assert ops.bulk_batch_size(fields, range(100_000)) == MAX_PARAMETERS // 4
    assert ops.bulk_batch_size(fields, range(10)) == 10
    assert ops.bulk_batch_size([], range(100_000)) == MAX_PARAMETERS
    Features.uses_server_side_binding = False
    # Client-side binding inlines the values: Django's own sizing stands.
    assert ops.bulk_batch_size(fields, range(100_000)) == 100_000


def project_database_settings(**environ: str) -> dict:
    """``DATABASES["default"]`` as ``config.settings`` builds it from ``environ``."""
    probe = (
        "import django, json; from django.conf import settings; django.setup(); "
        "d = settings.DATABASES['default']; "
        "print(json.dumps({'options': d.get('OPTIONS', {}), "
        "'health_checks': d['CONN_HEALTH_CHECKS']}))"
    )
    env = {"DJANGO_SETTINGS_MODULE": "config.settings", "PATH": "/usr/bin:/bin", **environ}
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_project_checks_connections_and_prepares_statements_by_default():
    found = project_database_settings(DATABASE_URL=f"{PG}/shop")

    assert found == {"options": PREPARED, "health_checks": True}


def test_the_project_turns_both_off_from_the_environment():
    found = project_database_settings(
        DATABASE_URL=f"{PG}/shop",
        DATABASE_PREPARED_STATEMENTS="false",
        DATABASE_CONN_HEALTH_CHECKS="false",
    )

    assert found == {"options": {}, "health_checks": False}


# ---------------------------------------------------------------- aliases


def test_in_one_database_every_service_is_served_by_default():
    assert [alias_for(service) for service in SERVICES] == ["default"] * 3
    assert aliases_for(SERVICES) == ["default"]


def test_a_service_with_its_own_database_is_served_by_its_alias():
    with own_databases("files", "notifications"):
        assert alias_for("files") == "files"
        assert alias_for("notifications") == "notifications"
        assert alias_for("accounts") == "default"
        assert aliases_for(["notifications", "accounts", "files"]) == [
            "default",
            "files",
            "notifications",
        ]


def test_a_service_without_an_alias_at_all_uses_default():
    assert alias_for("probe-not-configured") == "default"


def test_djangos_user_apps_live_with_the_user_models_service():
    assert [home_app(app) for app in ("auth", "contenttypes", "admin", "sessions")] == [
        "accounts"
    ] * 4
    assert home_app("files") == "files"
    assert home_app("ucloud") == "ucloud"


@pytest.mark.django_db(transaction=True)
def test_atomic_opens_the_transaction_on_the_services_alias():
    assert not connections["default"].in_atomic_block

    with atomic("files"):
        assert connections["default"].in_atomic_block
        # The mirror alias is not used while files shares the default database.
        assert not connections["files"].in_atomic_block


# ---------------------------------------------------------------- streams, processors


@pytest.fixture
def _own_registries():
    with registries_restored():
        yield


def test_a_stream_belongs_to_the_service_whose_module_declares_it():
    assert files_events.service == "files"
    assert files_events.database() == "default"


def test_a_stream_writes_to_its_producers_own_database_when_it_has_one():
    with own_databases("files"):
        assert files_events.database() == "files"


@pytest.mark.usefixtures("_own_registries")
def test_a_stream_declared_outside_services_writes_to_default():
    orders = EventStream("test.orders", payload=OrderEvent, key="order_id")

    with own_databases("files"):
        assert orders.service is None
        assert orders.database() == "default"


@pytest.mark.usefixtures("_own_registries")
def test_a_stream_may_name_its_producing_service():
    orders = EventStream("test.orders", payload=OrderEvent, key="order_id", service="files")

    with own_databases("files"):
        assert orders.service == "files"
        assert orders.database() == "files"


@pytest.mark.usefixtures("_own_registries")
def test_a_processor_uses_its_groups_database():
    found = subscribe(files_events, lambda event: None, group="notifications")

    assert found.using == "default"
    with own_databases("notifications"):
        assert found.using == "notifications"


# ---------------------------------------------------------------- ucloud_migrate


def _aliases_to_migrate(*args: str) -> str:
    out = io.StringIO()
    call_command("ucloud_migrate", "--print-aliases", *args, stdout=out)
    return out.getvalue().strip()


def test_ucloud_migrate_covers_default_alone_in_one_database():
    assert _aliases_to_migrate() == "default"


def test_ucloud_migrate_covers_default_then_each_served_services_own_database():
    with own_databases("notifications", "files"):
        assert _aliases_to_migrate() == "default,files,notifications"


def test_ucloud_migrate_leaves_databases_of_services_served_elsewhere_unless_asked():
    serving_accounts = override_settings(UCLOUD={**settings.UCLOUD, "SERVICES": ["accounts"]})
    with serving_accounts, own_databases("files"):
        assert _aliases_to_migrate() == "default"
        assert _aliases_to_migrate("--all") == "default,files"
