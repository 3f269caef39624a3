"""``GET /status``: the services served here and the dependencies they use.

200 when every dependency answers, 503 when one does not::

    {"status": "ok", "services": ["accounts", "files"],
     "dependencies": {"database": {"ok": true}, "redis": {"ok": true}}}
"""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from ucloud import registry, topology
from ucloud.service import DATABASE, REDIS
from ucloud.settings import ucloud_settings


def check_database() -> dict[str, Any]:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True}


def check_redis(url: str) -> dict[str, Any]:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # refused, timeout, auth: all mean "down"
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True}


def dependencies_in_use() -> set[str]:
    served = topology.served_services()
    features: set[str] = set()
    for name, service in registry.services().items():
        if name in served:
            features.update(service.features)
    if ucloud_settings.REDIS_URL:
        features.add(REDIS)
    else:
        features.discard(REDIS)
    return features


@require_GET
def status(request: HttpRequest) -> JsonResponse:
    used = dependencies_in_use()
    dependencies: dict[str, dict[str, Any]] = {}
    if DATABASE in used:
        dependencies[DATABASE] = check_database()
    if REDIS in used:
        dependencies[REDIS] = check_redis(str(ucloud_settings.REDIS_URL))
    healthy = all(dep["ok"] for dep in dependencies.values())
    body = {
        "status": "ok" if healthy else "unavailable",
        "services": sorted(topology.served_services()),
        "dependencies": dependencies,
    }
    return JsonResponse(body, status=200 if healthy else 503)
