"""``GET /status``: the services served here and the dependencies they use;
``GET /status/live``: the process answers, nothing else is asked.

``/status`` is readiness (route traffic here?), ``/status/live`` liveness
(restart me?): a database outage makes every unit unready, and restarting
them would not bring the database back.

``/status``: 200 when every dependency answers, 503 when one does not. ``database`` is
OK when the alias of every served service answers; when the served services
use more than one alias, ``aliases`` details each of them. ``events`` (with
an events Redis) reports the Redis of the streams and, per consumer group
served here and stream, what is pending and lagging (lag is information,
not a failure). ``search`` (with ``ELASTICSEARCH_URL``) reports the search
engine, up or not and its latency, as information too (``ucloud.search.health``)::

    {"status": "ok", "services": ["accounts", "files"],
     "dependencies": {"database": {"ok": true}, "redis": {"ok": true}}}
    "database": {"ok": false, "aliases": {"default": {"ok": true},
                 "files": {"ok": false, "error": "OperationalError"}}}
    "events": {"ok": true, "groups": {"notifications": {"files.events":
               {"consumers": 2, "pending": 0, "lag": 0, "oldest_age_s": null, ...}}}}
    "search": {"ok": true, "backend": "elasticsearch", "latency_ms": 1.8}
"""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, JsonResponse

from ucloud import registry, serving
from ucloud.databases import aliases_for
from ucloud.events import broker
from ucloud.events.lag import group_lags
from ucloud.events.relay import events_eager
from ucloud.events.tasks import services_with_event_tables
from ucloud.rpc.error_mapping import reading_only
from ucloud.search.health import check_search
from ucloud.service import DATABASE, REDIS
from ucloud.settings import ucloud_settings


def check_database(alias: str = DEFAULT_DB_ALIAS) -> dict[str, Any]:
    try:
        with connections[alias].cursor() as cursor:
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


def check_databases(aliases: list[str]) -> dict[str, Any]:
    """One alias: its own result. Several: all OK or not, and each one's."""
    if len(aliases) == 1:
        return check_database(aliases[0])
    each = {alias: check_database(alias) for alias in aliases}
    return {"ok": all(result["ok"] for result in each.values()), "aliases": each}


def database_aliases_in_use() -> list[str]:
    """The aliases of the served services that declare the database feature."""
    served = serving.served_services()
    using = [
        name
        for name, service in registry.services().items()
        if name in served and DATABASE in service.features
    ]
    return aliases_for(using) or [DEFAULT_DB_ALIAS]


def dependencies_in_use() -> set[str]:
    served = serving.served_services()
    features: set[str] = set()
    for name, service in registry.services().items():
        if name in served:
            features.update(service.features)
    if ucloud_settings.REDIS_URL:
        features.add(REDIS)
    else:
        features.discard(REDIS)
    return features


def check_events(served: frozenset[str]) -> dict[str, Any]:
    """The events Redis, and the lag of the consumer groups served here."""
    try:
        lags = group_lags(broker.connect(), groups=served)
    except Exception as exc:  # refused, timeout: the streams are unreachable
        return {"ok": False, "error": type(exc).__name__}
    groups: dict[str, dict[str, Any]] = {}
    for row in lags:
        groups.setdefault(row.group, {})[row.stream] = row.as_dict()
    return {"ok": True, "groups": groups}


def uses_events(served: frozenset[str]) -> bool:
    return not events_eager() and any(name in served for name in services_with_event_tables())


@reading_only  # it changes nothing; other methods get the kit's 405, not a CSRF page
def status(request: HttpRequest) -> JsonResponse:
    body, healthy = status_report()
    return JsonResponse(body, status=200 if healthy else 503)


def status_report() -> tuple[dict[str, Any], bool]:
    """What ``/status`` answers, and whether every dependency is up."""
    used = dependencies_in_use()
    dependencies: dict[str, dict[str, Any]] = {}
    if DATABASE in used:
        dependencies[DATABASE] = check_databases(database_aliases_in_use())
    if REDIS in used:
        dependencies[REDIS] = check_redis(str(ucloud_settings.REDIS_URL))
    served = serving.served_services()
    if uses_events(served):
        dependencies["events"] = check_events(served)
    healthy = all(dep["ok"] for dep in dependencies.values())
    # Reported, never a reason to be unready (ucloud.search.health).
    search = check_search()
    if search is not None:
        dependencies["search"] = search
    body = {
        "status": "ok" if healthy else "unavailable",
        "services": sorted(serving.served_services()),
        "dependencies": dependencies,
    }
    return body, healthy


@reading_only
def live(request: HttpRequest) -> JsonResponse:
    """200 as long as the process serves requests; touches no dependency."""
    return JsonResponse({"status": "alive"})
