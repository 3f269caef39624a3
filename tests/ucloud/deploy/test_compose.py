"""The compose file: every unit, its worker and beat, PostgreSQL, Redis and nginx."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.ucloud.deploy.conftest import nginx_test
from ucloud.deploy.compose import compose_files


@pytest.fixture
def generated(sample_topology):
    return compose_files(sample_topology, context="..")


@pytest.fixture
def services(generated):
    return yaml.safe_load(generated["docker-compose.yml"])["services"]


def test_every_unit_has_its_web_worker_beat_and_migration_services(services):
    assert set(services) == {
        "postgres", "redis", "keys", "gateway",
        "accounts-migrate", "accounts",
        "files-migrate", "files", "files-worker",
        "notifications-migrate", "notifications", "notifications-worker", "notifications-beat",
    }  # fmt: skip


def test_units_serve_their_services_with_replicas_and_their_own_database(services):
    files = services["files"]

    assert files["environment"]["UCLOUD_SERVICES"] == "files"
    assert files["environment"]["DATABASE_URL"].endswith("@postgres:5432/ucloud_files")
    assert files["environment"]["UCLOUD_SERVICE_URLS"] == (
        "accounts=http://accounts:8000,notifications=http://notifications:8000"
    )
    assert files["deploy"] == {"replicas": 2}
    assert files["command"][:2] == ["gunicorn", "config.wsgi"]
    assert files["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}


def test_units_wait_for_their_dependencies_and_report_health_on_status(services):
    for unit in ("accounts", "files", "notifications"):
        depends = services[unit]["depends_on"]
        assert depends["postgres"] == {"condition": "service_healthy"}
        assert depends["redis"] == {"condition": "service_healthy"}
        assert depends[f"{unit}-migrate"] == {"condition": "service_completed_successfully"}
        assert "/status" in " ".join(services[unit]["healthcheck"]["test"])
    assert services["gateway"]["depends_on"] == {
        unit: {"condition": "service_healthy"} for unit in ("accounts", "files", "notifications")
    }


def test_workers_and_beat_share_the_units_environment(services):
    assert services["files-worker"]["environment"] == services["files"]["environment"]
    assert services["notifications-worker"]["command"][-2:] == ["--concurrency", "1"]
    assert services["notifications-beat"]["command"][:4] == ["celery", "-A", "config", "beat"]


def test_redis_persists_and_postgres_creates_each_units_database(generated, services):
    assert services["redis"]["command"] == ["redis-server", "--appendonly", "yes"]
    init = generated["postgres-init.sql"]
    assert re.findall(r'CREATE DATABASE "(\w+)";', init) == [
        "ucloud_accounts",
        "ucloud_files",
        "ucloud_notifications",
    ]


def test_the_secret_key_must_be_given_and_keys_come_from_a_volume(services):
    env = services["accounts"]["environment"]

    assert env["DJANGO_SECRET_KEY"].startswith("${DJANGO_SECRET_KEY:?")
    assert env["UCLOUD_KEYS_DIR"] == "/run/ucloud/keys"
    assert "ucloud-keys:/run/ucloud/keys:ro" in services["accounts"]["volumes"]
    assert services["keys"]["command"][2:] == ["ucloud_keys", "--out", "/run/ucloud/keys"]


def test_the_gateway_publishes_the_gateway_port_and_proxies_to_service_names(generated, services):
    assert services["gateway"]["ports"] == ["${GATEWAY_PORT:-9080}:8080"]
    assert "server files:8000 " in generated["nginx.conf"]
    assert "listen 8080;" in generated["nginx.conf"]


def test_the_gateways_nginx_conf_is_valid_nginx(generated, nginx, tmp_path):
    # nginx -t resolves upstream names; compose's DNS is not here, loopback is.
    text = re.sub(r"server [a-z-]+:8000 ", "server 127.0.0.1:8000 ", generated["nginx.conf"])
    text = text.replace("pid /tmp/nginx.pid", f"pid {tmp_path}/nginx.pid")
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)

    result = nginx_test(nginx, conf)

    assert result.returncode == 0, result.stderr
