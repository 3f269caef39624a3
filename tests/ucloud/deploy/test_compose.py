"""The compose file: every unit, its worker and beat, PostgreSQL, Redis and nginx;
valid against the Compose Specification's schema, secrets only from .env,
one database role per unit, each unit holding only its own private keys,
a health check on every long-running service."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys

import psycopg
import pytest
import yaml

from tests.conftest import require
from tests.ucloud.deploy.conftest import nginx_test
from ucloud.deploy.compose import compose_files, secret_variables
from ucloud.deploy.roles import password_variable
from ucloud.secret_settings import weakness

UNITS = ("accounts", "files", "notifications")
SERVICES_OF = {
    "accounts": ["accounts"],
    "files": ["files"],
    "notifications": ["notifications", "audit"],
}


@pytest.fixture
def generated(sample_topology):
    return compose_files(sample_topology, context="..")


@pytest.fixture
def services(generated):
    return yaml.safe_load(generated["docker-compose.yml"])["services"]


def test_every_unit_has_its_web_worker_beat_and_migration_services(services):
    assert set(services) == {
        "postgres", "redis", "keys", "gateway",
        "accounts-keys", "accounts-migrate", "accounts",
        "files-keys", "files-migrate", "files", "files-worker",
        "notifications-keys", "notifications-migrate", "notifications", "notifications-worker",
        "notifications-beat",
    }  # fmt: skip


def test_units_serve_their_services_with_replicas_and_their_own_database(services):
    files = services["files"]

    assert files["environment"]["UCLOUD_SERVICES"] == "files"
    assert files["environment"]["DATABASE_URL"] == (
        "postgres://ucloud_files:${DATABASE_PASSWORD_FILES:?set DATABASE_PASSWORD_FILES in .env"
        " - sh secrets.sh writes one}@postgres:5432/ucloud_files"
    )
    assert files["environment"]["UCLOUD_SERVICE_URLS"] == (
        "accounts=http://accounts:8000,notifications=http://notifications:8000,"
        "audit=http://notifications:8000"
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


def test_workers_and_beat_share_the_units_environment_plus_their_heartbeat(services):
    heartbeat = {
        **services["files"]["environment"],
        "UCLOUD_HEARTBEAT_FILE": "/tmp/ucloud-heartbeat",
    }
    assert services["files-worker"]["environment"] == heartbeat
    assert services["notifications-worker"]["command"][-2:] == ["--concurrency", "1"]
    assert services["notifications-beat"]["command"][:6] == [
        "celery", "-A", "config", "beat", "--scheduler", "ucloud.heartbeat.celery:Scheduler",
    ]  # fmt: skip


def test_every_long_running_service_has_a_health_check(services):
    long_running = {name for name, service in services.items() if service["restart"] != "no"}

    assert long_running == {name for name, service in services.items() if "healthcheck" in service}
    for name in ("files-worker", "notifications-worker", "notifications-beat"):
        test = services[name]["healthcheck"]["test"]
        assert test == ["CMD", "python", "-m", "ucloud.heartbeat", "/tmp/ucloud-heartbeat",
                        "--max-age", "120"]  # fmt: skip
    assert services["gateway"]["healthcheck"]["test"][-1] == (
        "http://127.0.0.1:8080/status/gateway"
    )


def test_application_containers_are_locked_down(services):
    for name, service in services.items():
        if service.get("image") == "ucloud-kit:latest":
            assert service["read_only"] is True, name
            assert service["cap_drop"] == ["ALL"], name
            assert service["security_opt"] == ["no-new-privileges:true"], name


def test_redis_persists(services):
    assert services["redis"]["command"] == ["redis-server", "--appendonly", "yes"]


def test_no_secret_has_a_default_and_each_comes_from_env(generated):
    text = generated["docker-compose.yml"]
    used = set(re.findall(r"\$\{(\w+)", text))

    assert used == {*secret_variables_of(generated), "GATEWAY_PORT"}
    for name in used - {"GATEWAY_PORT"}:
        # ${VAR:?...}: compose refuses an unset or empty value; never ${VAR:-default}.
        assert f"${{{name}:-" not in text
        assert f"${{{name}:?" in text


def secret_variables_of(generated) -> set[str]:
    return set(re.findall(r'echo "(\w+)=\$\(random\)"', generated["secrets.sh"]))


def test_secrets_sh_writes_random_secrets_once(generated, sample_topology, tmp_path):
    script = tmp_path / "secrets.sh"
    script.write_text(generated["secrets.sh"])
    run = lambda: subprocess.run(["sh", str(script)], capture_output=True, text=True,  # noqa: E731
                                 timeout=30, check=True)  # fmt: skip

    run()
    first = (tmp_path / ".env").read_text()
    run()

    assert (tmp_path / ".env").read_text() == first
    assert oct((tmp_path / ".env").stat().st_mode & 0o777) == "0o600"
    values = dict(line.split("=", 1) for line in first.splitlines())
    assert list(values) == secret_variables(sample_topology)
    assert len(set(values.values())) == len(values)
    assert all(weakness(value) is None for value in values.values())


def test_each_unit_mounts_only_its_own_private_keys_and_every_public_key(services):
    for unit in UNITS:
        assert services[unit]["volumes"] == [f"keys-{unit}:/run/ucloud/keys:ro"]
        assert services[unit]["environment"]["UCLOUD_KEYS_DIR"] == "/run/ucloud/keys"
        copy = services[f"{unit}-keys"]
        copied = [path.rsplit("/", 1)[1] for path in copy["command"][1:-1]]
        own = [f"{service}.pem" for service in SERVICES_OF[unit]]
        assert copied == [*own, "accounts.pub", "audit.pub", "files.pub", "notifications.pub"]
        assert copy["volumes"] == ["ucloud-keys:/run/ucloud/keys:ro",
                                   f"keys-{unit}:/run/ucloud/unit-keys"]  # fmt: skip
    holders = [
        name
        for name, s in services.items()
        if "ucloud-keys:/run/ucloud/keys" in s.get("volumes", [])
    ]
    assert holders == ["keys"]


def test_the_file_is_valid_against_the_compose_specification(generated, tmp_path):
    # Offline: the schema ships inside check-jsonschema (requirements-dev.txt).
    compose = tmp_path / "docker-compose.yml"
    compose.write_text(generated["docker-compose.yml"])
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
         str(compose)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr


def test_postgres_init_gives_each_unit_a_role_owning_only_its_database(sample_topology):
    require(_postgres_reachable(), "PostgreSQL at 127.0.0.1:5432")
    suffix = secrets.token_hex(4)
    topology = sample_topology.with_databases({unit: f"roles_{unit}_{suffix}" for unit in UNITS})
    script = compose_files(topology)["postgres-init.sh"]
    passwords = {password_variable(unit): f"pw-{unit.name}-{suffix}" for unit in topology.units}
    env = {"PATH": "/usr/bin:/bin", "PGHOST": "127.0.0.1", "POSTGRES_USER": "postgres", **passwords}
    try:
        done = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True,
                              timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
        files, accounts = f"roles_files_{suffix}", f"roles_accounts_{suffix}"
        with _connect(files, files) as own:
            owner = own.execute(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (files,)
            ).fetchone()
            assert owner == (files,)
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            _connect(accounts, files).close()
    finally:
        with _connect("postgres", "postgres") as admin:
            for unit in topology.units:
                admin.execute(f'DROP DATABASE IF EXISTS "{unit.database}" WITH (FORCE)')
                admin.execute(f'DROP ROLE IF EXISTS "{unit.database}"')


def _connect(database: str, user: str) -> psycopg.Connection:
    return psycopg.connect(host="127.0.0.1", dbname=database, user=user, autocommit=True,
                           connect_timeout=5)  # fmt: skip


def _postgres_reachable() -> bool:
    try:
        _connect("postgres", "postgres").close()
    except psycopg.OperationalError:
        return False
    return True


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


def test_workers_serve_their_own_metrics_on_the_network(services):
    for name in ("files-worker", "notifications-worker"):
        assert services[name]["expose"] == ["9108"]
        assert services[name]["environment"]["UCLOUD_WORKER_METRICS_PORT"] == "9108"
