"""A unit's environment: what makes each process serve its part of the topology."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ucloud.deploy.environment import unit_environment
from ucloud.deploy.topology import TopologyError

SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
BASE = {
    "DATABASE_URL": SERVER,
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "DJANGO_SECRET_KEY": "shared-secret",
    "UCLOUD_KEYS_DIR": "/srv/run/keys",
}


def test_each_unit_serves_its_services_and_finds_the_others_locally(sample_topology):
    env = unit_environment(
        sample_topology, sample_topology.unit("files"), target="procfile", base=BASE
    )

    assert env["UCLOUD_SERVICES"] == "files"
    assert env["UCLOUD_SERVICE_URLS"] == (
        "accounts=http://127.0.0.1:9001,notifications=http://127.0.0.1:9003,"
        "audit=http://127.0.0.1:9003"
    )
    assert env["UCLOUD_KEYS_DIR"] == "/srv/run/keys"


@pytest.mark.parametrize("target", ["compose", "k8s"])
def test_containers_find_the_others_by_service_name_and_mount_keys(sample_topology, target):
    env = unit_environment(sample_topology, sample_topology.unit("files"), target=target, base=BASE)

    assert env["UCLOUD_SERVICE_URLS"] == (
        "accounts=http://accounts:8000,notifications=http://notifications:8000,"
        "audit=http://notifications:8000"
    )
    assert env["UCLOUD_KEYS_DIR"] == "/run/ucloud/keys"


@pytest.mark.parametrize(
    ("target", "hosts"),
    [
        ("k8s", "ucloud.example.com,api.example.com,files"),
        ("compose", "ucloud.example.com,api.example.com,files,127.0.0.1,localhost,[::1]"),
        ("procfile", "ucloud.example.com,api.example.com,127.0.0.1,localhost,[::1]"),
    ],
)
def test_allowed_hosts_are_the_gateways_hosts_and_the_units_own_names(
    sample_topology, target, hosts
):
    env = unit_environment(sample_topology, sample_topology.unit("files"), target=target, base=BASE)

    assert env["DJANGO_ALLOWED_HOSTS"] == hosts
    assert "*" not in env["DJANGO_ALLOWED_HOSTS"]


def test_a_base_adds_allowed_hosts_without_replacing_the_topologys(sample_topology):
    base = {**BASE, "DJANGO_ALLOWED_HOSTS": "files.internal, ucloud.example.com"}
    env = unit_environment(sample_topology, sample_topology.unit("files"), target="k8s", base=base)

    assert env["DJANGO_ALLOWED_HOSTS"] == "ucloud.example.com,api.example.com,files,files.internal"


def test_credentials_give_each_unit_its_own_role_the_admin_unit_included(sample_topology):
    def credentials(unit):
        return unit.database, f"pw-{unit.name}"

    files = unit_environment(
        sample_topology,
        sample_topology.unit("files"),
        target="k8s",
        base=BASE,
        credentials=credentials,
    )
    admin = unit_environment(
        sample_topology,
        sample_topology.admin_unit,
        target="k8s",
        base=BASE,
        credentials=credentials,
    )

    assert files["DATABASE_URL"] == "postgres://ucloud_files:pw-files@127.0.0.1:5432/ucloud_files"
    assert "DATABASE_URL_FILES" not in admin
    assert admin["DATABASE_URL"] == (
        "postgres://ucloud_accounts:pw-accounts@127.0.0.1:5432/ucloud_accounts"
    )


def test_a_unit_gets_its_own_database_for_each_of_its_services(sample_topology):
    env = unit_environment(
        sample_topology, sample_topology.unit("files"), target="procfile", base=BASE
    )
    own = "postgres://postgres@127.0.0.1:5432/ucloud_files"

    assert env["DATABASE_URL"] == own
    assert env["DATABASE_URL_FILES"] == own
    assert "DATABASE_URL_ACCOUNTS" not in env


def test_the_admin_unit_holds_no_other_units_database(sample_topology):
    env = unit_environment(
        sample_topology, sample_topology.admin_unit, target="procfile", base=BASE
    )

    assert env["DATABASE_URL"].endswith("/ucloud_accounts")
    assert env["DATABASE_URL_ACCOUNTS"] == env["DATABASE_URL"]
    assert sorted(key for key in env if key.startswith("DATABASE_URL")) == [
        "DATABASE_URL",
        "DATABASE_URL_ACCOUNTS",
    ]


def test_redis_is_the_broker_and_shared_values_pass_through(sample_topology):
    base = {**BASE, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    env = unit_environment(
        sample_topology, sample_topology.unit("files"), target="procfile", base=base
    )

    assert env["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/0"
    assert env["DJANGO_SECRET_KEY"] == "shared-secret"
    assert env["DJANGO_SETTINGS_MODULE"] == "tests.settings"


def test_topology_variables_of_the_base_are_replaced_not_inherited(sample_topology):
    base = {
        **BASE,
        "UCLOUD_SERVICES": "accounts,files",
        "UCLOUD_GATEWAY_URL": "http://elsewhere",
        "DATABASE_URL_ACCOUNTS": "postgres://elsewhere/accounts",
    }
    env = unit_environment(
        sample_topology, sample_topology.unit("files"), target="procfile", base=base
    )

    assert env["UCLOUD_SERVICES"] == "files"
    assert "UCLOUD_GATEWAY_URL" not in env
    assert "DATABASE_URL_ACCOUNTS" not in env


def test_without_a_database_server_there_is_no_environment(sample_topology):
    with pytest.raises(TopologyError, match="needs DATABASE_URL"):
        unit_environment(sample_topology, sample_topology.unit("files"), target="procfile", base={})


def test_the_settings_read_the_environment_as_the_topology_means_it(sample_topology, tmp_path):
    base = {"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", "DJANGO_SECRET_KEY": "k" * 40}
    env = unit_environment(
        sample_topology, sample_topology.admin_unit, target="procfile", base=base
    )
    probe = (
        "import django, json; django.setup(); from django.conf import settings; "
        "print(json.dumps({'services': settings.UCLOUD['SERVICES'], "
        "'urls': settings.UCLOUD['SERVICE_URLS'], "
        "'databases': {a: str(d['NAME']) for a, d in settings.DATABASES.items()}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    seen = json.loads(result.stdout)

    assert seen["services"] == ["accounts"]
    assert seen["urls"] == {
        "files": "http://127.0.0.1:9002",
        "notifications": "http://127.0.0.1:9003",
        "audit": "http://127.0.0.1:9003",
    }
    assert seen["databases"]["default"] == f"{tmp_path}/ucloud_accounts.sqlite3"
    # files' alias is no way into files' database: the admin unit holds only its own.
    assert f"{tmp_path}/ucloud_files.sqlite3" not in seen["databases"].values()


def test_in_containers_a_units_processes_share_their_metrics_folder_in_tmp(sample_topology):
    for target in ("compose", "k8s"):
        env = unit_environment(
            sample_topology, sample_topology.unit("files"), target=target, base=BASE
        )
        assert env["PROMETHEUS_MULTIPROC_DIR"] == "/tmp/ucloud-metrics"
        # A worker's container has a /tmp of its own: it serves its metrics.
        assert env["UCLOUD_WORKER_METRICS_PORT"] == "9108"
    local = unit_environment(
        sample_topology, sample_topology.unit("files"), target="procfile", base=BASE
    )
    # Locally the Procfile gives each unit a folder of its own (ucloud.deploy.procfile),
    # which its web processes serve, the worker's counters included.
    assert "PROMETHEUS_MULTIPROC_DIR" not in local
    assert "UCLOUD_WORKER_METRICS_PORT" not in local
