"""The Kubernetes manifests: valid against the API schemas, one Deployment and
Service per unit with probes on /status, workers, and an Ingress for the paths."""

from __future__ import annotations

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from ucloud.deploy.k8s import k8s_manifests

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


def test_web_pods_probe_status_for_readiness_and_liveness(documents):
    for unit in ("accounts", "files", "notifications"):
        container = _named(documents, "Deployment")[unit]["spec"]["template"]["spec"]["containers"][
            0
        ]
        assert container["image"] == "registry.example/ucloud:1"
        assert container["readinessProbe"]["httpGet"]["path"] == "/status"
        assert container["livenessProbe"]["httpGet"]["path"] == "/status"


def test_workers_and_a_single_beat_that_never_overlaps(documents):
    deployments = _named(documents, "Deployment")

    assert {"files-worker", "notifications-worker", "notifications-beat"} <= set(deployments)
    assert "accounts-worker" not in deployments  # workers = 0
    beat = deployments["notifications-beat"]["spec"]
    assert (beat["replicas"], beat["strategy"]) == (1, {"type": "Recreate"})


def test_settings_split_into_a_configmap_and_a_secret(documents):
    config = _named(documents, "ConfigMap")["files-env"]["data"]
    secret = _named(documents, "Secret")["files-env"]["stringData"]

    assert config["UCLOUD_SERVICES"] == "files"
    assert config["UCLOUD_SERVICE_URLS"].startswith("accounts=http://accounts:8000")
    assert not any(key.startswith("DATABASE_URL") or "SECRET" in key for key in config)
    assert {"DATABASE_URL", "DATABASE_URL_FILES", "DJANGO_SECRET_KEY", "REDIS_URL"} <= set(secret)


def test_a_unit_holds_only_its_own_private_keys(documents):
    keys = _named(documents, "Secret")["files-keys"]["stringData"]

    assert sorted(keys) == ["accounts.pub", "files.pem", "files.pub", "notifications.pub"]


def test_the_ingress_routes_each_namespace_to_its_unit_and_the_rest_to_the_admin(documents):
    ingress = _named(documents, "Ingress")["ucloud"]
    paths = {
        (path["path"], path["pathType"]): path["backend"]["service"]["name"]
        for path in ingress["spec"]["rules"][0]["http"]["paths"]
    }

    assert paths == {
        ("/api/accounts", "Prefix"): "accounts",
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
