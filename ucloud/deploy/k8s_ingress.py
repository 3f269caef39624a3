"""The Ingress of the Kubernetes manifests: the gateway's routes for the
topology's hosts, with TLS, and a limit on login attempts.

One Ingress routes what needs no rewrite (``/api/<namespace>`` to its unit,
the rest to the admin unit); small ones rewrite ``/status/<unit>`` to that
unit's ``/status``, ``/auth/x`` to ``/api/<auth service>/x``, and limit
``/api/<auth service>/login`` and ``/auth/login`` per client address to
``[gateway] login_rate``. Rewrites and limits are ingress-nginx annotations::

    documents = ingress_documents(topology, namespace="ucloud", ingress_class="nginx")
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ucloud.deploy.topology import CONTAINER_PORT, Topology, Unit

_REWRITE = "nginx.ingress.kubernetes.io/rewrite-target"


@dataclass(frozen=True)
class _Meta:
    namespace: str


def ingress_documents(
    topology: Topology, *, namespace: str, ingress_class: str
) -> list[dict[str, Any]]:
    """The main Ingress, then the rewriting and limiting ones."""
    meta = _Meta(namespace)
    return [
        _ingress(topology, meta, ingress_class),
        *_rewrite_ingresses(topology, meta, ingress_class),
    ]


def _path(path: str, path_type: str, unit: Unit) -> dict[str, Any]:
    backend = {"service": {"name": unit.name, "port": {"number": CONTAINER_PORT}}}
    return {"path": path, "pathType": path_type, "backend": backend}


def _ingress_document(
    topology: Topology,
    name: str,
    paths: list[dict[str, Any]],
    meta: _Meta,
    ingress_class: str,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": meta.namespace,
        "labels": {"app.kubernetes.io/part-of": "ucloud"},
    }
    if annotations:
        metadata["annotations"] = annotations
    rules = [{"host": host, "http": {"paths": paths}} for host in topology.hosts]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata,
        "spec": {
            "ingressClassName": ingress_class,
            "tls": [{"hosts": list(topology.hosts), "secretName": topology.tls_secret}],
            "rules": rules,
        },
    }


def _rewrite(target: str) -> dict[str, str]:
    return {_REWRITE: target, "nginx.ingress.kubernetes.io/use-regex": "true"}


def _ingress(topology: Topology, meta: _Meta, ingress_class: str) -> dict[str, Any]:
    """The gateway's routes that need no rewrite; Prefix /api/files matches /api/files too."""
    admin = topology.admin_unit
    paths = [
        _path(f"/api/{namespace}", "Prefix", unit)
        for unit in topology.units
        for namespace in topology.namespaces_of(unit)
    ]
    paths += [
        _path("/status", "Exact", admin),
        _path("/admin", "Prefix", admin),
        _path("/static", "Prefix", admin),
        _path("/", "Prefix", admin),
    ]
    return _ingress_document(topology, "ucloud", paths, meta, ingress_class)


def login_limit(topology: Topology) -> dict[str, str]:
    """ingress-nginx's per-address limit for ``[gateway] login_rate`` and ``login_burst``."""
    count, _, per = topology.login_rate.partition("r/")
    key = "limit-rpm" if per == "m" else "limit-rps"
    multiplier = max(1, round(topology.login_burst / int(count)))
    return {
        f"nginx.ingress.kubernetes.io/{key}": count,
        "nginx.ingress.kubernetes.io/limit-burst-multiplier": str(multiplier),
    }


def _rewrite_ingresses(topology: Topology, meta: _Meta, ingress_class: str) -> list[dict[str, Any]]:
    """``/status/<unit>`` -> that unit's ``/status``; ``/auth/x`` -> ``/api/<auth>/x``;
    login (both paths) limited per client address."""
    documents = [
        _ingress_document(
            topology,
            f"ucloud-status-{unit.name}",
            [_path(f"/status/{unit.name}", "ImplementationSpecific", unit)],
            meta,
            ingress_class,
            _rewrite("/status"),
        )
        for unit in topology.units
    ]
    auth = topology.auth_unit()
    if auth is not None:
        api = f"/api/{topology.auth_service}"
        documents.append(
            _ingress_document(
                topology,
                "ucloud-auth",
                [_path("/auth/(.*)", "ImplementationSpecific", auth)],
                meta,
                ingress_class,
                _rewrite(f"{api}/$1"),
            )
        )
        documents.append(
            _ingress_document(
                topology,
                "ucloud-login",
                [_path(f"/(auth|{api[1:]})/login", "ImplementationSpecific", auth)],
                meta,
                ingress_class,
                {**_rewrite(f"{api}/login"), **login_limit(topology)},
            )
        )
    return documents
