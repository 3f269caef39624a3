"""The Kubernetes manifests, read as an operator would: valid against the API
schemas; per unit a Deployment, Service and PodDisruptionBudget, workers and
beat, every pod migrating first, locked down, sized and probed; Secrets
referenced (created by create-secrets.sh), never inlined; an Ingress with
the topology's hosts, TLS and a login limit."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from ucloud.deploy.k8s import k8s_files, k8s_manifests

KUBERNETES_VERSION = "1.33"


@pytest.fixture
def documents(sample_topology):
    text = k8s_manifests(sample_topology, image="registry.example/ucloud:1")
    return [doc for doc in yaml.safe_load_all(text) if doc]


def _named(documents, kind):
    return {doc["metadata"]["name"]: doc for doc in documents if doc["kind"] == kind}


def test_every_manifest_is_valid_against_the_kubernetes_schema(documents):
    for document in documents:
        # strict: unknown fields are errors too.
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_a_deployment_and_a_service_per_unit_with_its_replicas(documents):
    deployments = _named(documents, "Deployment")
    services = _named(documents, "Service")

    assert set(services) == {"accounts", "files", "notifications"}
    assert deployments["files"]["spec"]["replicas"] == 2
    for unit, service in services.items():
        pod_labels = deployments[unit]["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"] == pod_labels
        assert service["spec"]["ports"][0]["port"] == 8000


def _pod(documents, name):
    return _named(documents, "Deployment")[name]["spec"]["template"]["spec"]


def test_web_pods_are_ready_on_status_and_alive_on_the_cheap_live_endpoint(documents):
    for unit in ("accounts", "files", "notifications"):
        container = _pod(documents, unit)["containers"][0]
        assert container["image"] == "registry.example/ucloud:1"
        ready, live = container["readinessProbe"]["httpGet"], container["livenessProbe"]["httpGet"]
        assert ready["path"] == "/status"
        assert live["path"] == "/status/live"
        # The probes name the unit as Host: it is in its ALLOWED_HOSTS, a pod IP is not.
        assert live["httpHeaders"] == [{"name": "Host", "value": unit}]


def test_workers_and_beat_are_alive_while_their_heartbeat_is_fresh(documents):
    for name in ("files-worker", "notifications-worker", "notifications-beat"):
        container = _pod(documents, name)["containers"][0]
        assert container["env"] == [
            {"name": "UCLOUD_HEARTBEAT_FILE", "value": "/tmp/ucloud-heartbeat"}
        ]
        assert container["livenessProbe"]["exec"]["command"] == [
            "python", "-m", "ucloud.heartbeat", "/tmp/ucloud-heartbeat", "--max-age", "120",
        ]  # fmt: skip
    beat = _pod(documents, "notifications-beat")["containers"][0]["command"]
    assert "ucloud.heartbeat.celery:Scheduler" in beat


def test_requests_and_limits_per_process_kind_follow_the_topology(documents):
    files_web = _pod(documents, "files")["containers"][0]["resources"]
    accounts_web = _pod(documents, "accounts")["containers"][0]["resources"]
    worker = _pod(documents, "files-worker")["containers"][0]["resources"]
    beat = _pod(documents, "notifications-beat")["containers"][0]["resources"]

    assert files_web["requests"] == {"cpu": "500m", "memory": "256Mi"}  # the unit's own
    assert accounts_web["requests"] == {"cpu": "250m", "memory": "256Mi"}  # the kit's
    assert worker["limits"] == {"cpu": "1", "memory": "768Mi"}  # [resources.worker]
    assert beat["limits"] == {"cpu": "250m", "memory": "256Mi"}
    for name in _named(documents, "Deployment"):
        pod = _pod(documents, name)
        for container in pod["containers"] + pod["initContainers"]:
            assert set(container["resources"]) == {"requests", "limits"}


def test_every_pod_runs_non_root_read_only_without_capabilities(documents):
    for name in _named(documents, "Deployment"):
        pod = _pod(documents, name)
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"] + pod["initContainers"]:
            assert container["securityContext"] == {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            }
        assert {"name": "tmp", "emptyDir": {}} in pod["volumes"]


def test_every_pod_migrates_first_so_applying_again_just_works(documents):
    assert _named(documents, "Job") == {}  # nothing immutable to apply twice
    for name in _named(documents, "Deployment"):
        [migrate] = _pod(documents, name)["initContainers"]
        assert migrate["command"] == ["python", "manage.py", "ucloud_migrate"]


def test_replicas_come_with_a_disruption_budget(documents):
    budgets = _named(documents, "PodDisruptionBudget")
    deployments = _named(documents, "Deployment")

    assert set(budgets) == {"accounts", "files", "notifications"}
    for unit, budget in budgets.items():
        assert budget["spec"]["maxUnavailable"] == 1
        pod_labels = deployments[unit]["spec"]["template"]["metadata"]["labels"]
        assert budget["spec"]["selector"]["matchLabels"] == pod_labels


def test_workers_and_a_single_beat_that_never_overlaps(documents):
    deployments = _named(documents, "Deployment")

    assert {"files-worker", "notifications-worker", "notifications-beat"} <= set(deployments)
    assert "accounts-worker" not in deployments  # workers = 0
    beat = deployments["notifications-beat"]["spec"]
    assert (beat["replicas"], beat["strategy"]) == (1, {"type": "Recreate"})


def test_plain_settings_are_a_configmap_with_allowed_hosts_from_the_topology(documents):
    config = _named(documents, "ConfigMap")["files-env"]["data"]

    assert config["UCLOUD_SERVICES"] == "files"
    assert config["UCLOUD_SERVICE_URLS"].startswith("accounts=http://accounts:8000")
    assert config["DJANGO_ALLOWED_HOSTS"] == "ucloud.example.com,api.example.com,files"
    assert not any(key.startswith("DATABASE_URL") or "SECRET" in key for key in config)


def test_secrets_are_referenced_never_inlined(documents):
    assert _named(documents, "Secret") == {}
    pod = _pod(documents, "files")
    assert {"secretRef": {"name": "files-env"}} in pod["containers"][0]["envFrom"]
    keys = next(volume for volume in pod["volumes"] if volume["name"] == "keys")
    assert keys["secret"] == {"secretName": "files-keys", "defaultMode": 0o440}


@pytest.fixture
def kubectl_log(tmp_path, sample_topology):
    """create-secrets.sh run with a stand-in kubectl that records what it is asked."""
    script = tmp_path / "create-secrets.sh"
    script.write_text(k8s_files(sample_topology)["create-secrets.sh"])
    log = tmp_path / "kubectl.log"
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\ncat > /dev/null\n')
    kubectl.chmod(0o755)
    return script, log, kubectl


def _environment(kubectl: Path) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "KUBECTL": str(kubectl),
        "DJANGO_SECRET_KEY": "s3cret-" * 8,
        "REDIS_URL": "redis://:pw@redis.internal:6379/0",
        "DATABASE_HOST": "pg.internal:5432",
        "DATABASE_PASSWORD_ACCOUNTS": "pw-accounts",
        "DATABASE_PASSWORD_FILES": "pw-files",
        "DATABASE_PASSWORD_NOTIFICATIONS": "pw-notifications",
        "KEYS_DIR": "/secure/keys",
    }


def test_create_secrets_makes_every_referenced_secret_from_the_environment(kubectl_log, documents):
    script, log, kubectl = kubectl_log
    subprocess.run(["sh", str(script)], env=_environment(kubectl), check=True, timeout=60)
    calls = [line for line in log.read_text().splitlines() if " create secret generic " in line]
    created = {line.split()[5]: line for line in calls}

    referenced = {volume["secret"]["secretName"] for name in _named(documents, "Deployment")
                  for volume in _pod(documents, name)["volumes"] if "secret" in volume}  # fmt: skip
    referenced |= {ref["secretRef"]["name"] for name in _named(documents, "Deployment")
                   for ref in _pod(documents, name)["containers"][0]["envFrom"]
                   if "secretRef" in ref}  # fmt: skip
    assert set(created) == referenced
    files_env = created["files-env"]
    assert (
        "DATABASE_URL=postgres://ucloud_files:pw-files@pg.internal:5432/ucloud_files" in files_env
    )
    assert f"DJANGO_SECRET_KEY={'s3cret-' * 8}" in files_env
    assert "REDIS_URL=redis://:pw@redis.internal:6379/0" in files_env
    # The admin unit holds only its own database, like every unit.
    assert "DATABASE_URL_FILES" not in created["accounts-env"]
    assert created["files-keys"].split()[6:11] == [
        "--from-file=files.pem=/secure/keys/files.pem",
        "--from-file=accounts.pub=/secure/keys/accounts.pub",
        "--from-file=audit.pub=/secure/keys/audit.pub",
        "--from-file=files.pub=/secure/keys/files.pub",
        "--from-file=notifications.pub=/secure/keys/notifications.pub",
    ]


def test_create_secrets_stops_before_kubectl_when_a_variable_is_missing(kubectl_log):
    script, log, kubectl = kubectl_log
    env = _environment(kubectl)
    del env["DATABASE_PASSWORD_FILES"]

    done = subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True, timeout=60)

    assert done.returncode != 0
    assert "DATABASE_PASSWORD_FILES" in done.stderr
    assert not log.exists()


def test_database_roles_sql_gives_each_unit_a_role_owning_its_database(sample_topology):
    sql = k8s_files(sample_topology)["database-roles.sql"]

    assert "CREATE ROLE \"ucloud_files\" LOGIN PASSWORD :'password_files';" in sql
    assert 'CREATE DATABASE "ucloud_files" OWNER "ucloud_files";' in sql
    assert 'REVOKE ALL ON DATABASE "ucloud_files" FROM PUBLIC;' in sql


def test_the_ingress_routes_each_namespace_to_its_unit_and_the_rest_to_the_admin(documents):
    ingress = _named(documents, "Ingress")["ucloud"]
    paths = {
        (path["path"], path["pathType"]): path["backend"]["service"]["name"]
        for path in ingress["spec"]["rules"][0]["http"]["paths"]
    }
    assert [rule["host"] for rule in ingress["spec"]["rules"]] == [
        "ucloud.example.com",
        "api.example.com",
    ]
    assert ingress["spec"]["tls"] == [
        {"hosts": ["ucloud.example.com", "api.example.com"], "secretName": "example-tls"}
    ]

    assert paths == {
        ("/api/accounts", "Prefix"): "accounts",
        ("/api/audit", "Prefix"): "notifications",
        ("/api/files", "Prefix"): "files",
        ("/api/notifications", "Prefix"): "notifications",
        ("/status", "Exact"): "accounts",
        ("/admin", "Prefix"): "accounts",
        ("/static", "Prefix"): "accounts",
        ("/", "Prefix"): "accounts",
    }


def test_status_per_unit_and_auth_are_rewritten_by_ingress_nginx(documents):
    ingresses = _named(documents, "Ingress")
    rewrite = "nginx.ingress.kubernetes.io/rewrite-target"

    assert ingresses["ucloud-status-files"]["metadata"]["annotations"][rewrite] == "/status"
    assert ingresses["ucloud-auth"]["metadata"]["annotations"][rewrite] == "/api/accounts/$1"


def test_every_ingress_has_the_hosts_and_tls_and_login_is_limited(documents):
    ingresses = _named(documents, "Ingress")
    for ingress in ingresses.values():
        assert ingress["spec"]["tls"][0]["secretName"] == "example-tls"
        assert all(rule["host"] for rule in ingress["spec"]["rules"])
    login = ingresses["ucloud-login"]
    annotations = login["metadata"]["annotations"]

    assert annotations["nginx.ingress.kubernetes.io/limit-rpm"] == "10"
    assert annotations["nginx.ingress.kubernetes.io/rewrite-target"] == "/api/accounts/login"
    assert login["spec"]["rules"][0]["http"]["paths"][0]["path"] == "/(auth|api/accounts)/login"


def test_web_and_worker_pods_are_scraped_and_workers_serve_their_own_metrics(documents):
    deployments = _named(documents, "Deployment")
    for name, port in (
        ("files", "8000"),
        ("files-worker", "9108"),
        ("notifications-worker", "9108"),
    ):
        annotations = deployments[name]["spec"]["template"]["metadata"]["annotations"]
        assert annotations == {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": port,
            "prometheus.io/path": "/metrics",
        }
    worker = _pod(documents, "files-worker")["containers"][0]
    assert worker["ports"] == [{"name": "metrics", "containerPort": 9108}]
    config = _named(documents, "ConfigMap")["files-env"]["data"]
    assert config["UCLOUD_WORKER_METRICS_PORT"] == "9108"
    # Beat counts nothing of its own.
    beat = deployments["notifications-beat"]["spec"]["template"]["metadata"]
    assert "annotations" not in beat
