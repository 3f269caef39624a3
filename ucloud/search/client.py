"""The Elasticsearch client of the kit: one per process, plain JSON on request.

The ``elasticsearch`` 9 client sends ``application/vnd.elasticsearch+json;
compatible-with=9`` as ``Accept`` and ``Content-Type`` on every request.
Elasticsearch wants that; OpenSearch and other compatible servers (such as
the in-memory ``osmem-server`` the tests use) answer 406. With
``UCLOUD["ELASTICSEARCH_PLAIN_JSON"]`` (``ELASTICSEARCH_PLAIN_JSON=true``)
the kit's transport sends plain ``application/json`` instead::

    client = elasticsearch_client()            # None without ELASTICSEARCH_URL
    client.indices.get_alias(name="files")
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from django.core.signals import setting_changed
from elastic_transport import HttpHeaders, Transport
from elastic_transport.client_utils import DEFAULT
from elasticsearch import Elasticsearch

from ucloud.settings import ucloud_settings

_COMPATIBLE = "application/vnd.elasticsearch+"


def plain_json(value: str) -> str:
    """``application/vnd.elasticsearch+json; compatible-with=9`` -> ``application/json``
    (and ``x-ndjson`` alike); anything else unchanged."""
    if not value.startswith(_COMPATIBLE):
        return value
    return "application/" + value[len(_COMPATIBLE) :].split(";", 1)[0].strip()


class PlainJsonTransport(Transport):
    """Sends the plain media types where the client asks for compatible ones."""

    def perform_request(
        self, method: str, target: str, *, headers: Any = DEFAULT, **kw: Any
    ) -> Any:
        if isinstance(headers, Mapping):
            # A copy (case-insensitive, like the client's own): the client
            # reuses its default headers between requests.
            headers = HttpHeaders(headers)
            for name in ("accept", "content-type"):
                if name in headers:
                    headers[name] = plain_json(headers[name])
        return super().perform_request(method, target, headers=headers, **kw)


def make_client(url: str, *, plain: bool, timeout: float) -> Elasticsearch:
    options: dict[str, Any] = {"request_timeout": timeout, "max_retries": 0}
    if plain:
        options["transport_class"] = PlainJsonTransport
    return Elasticsearch(url, **options)


class _SharedClient:
    """One client per process (made again after a fork, and when settings change)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = 0
        self._client: Elasticsearch | None = None

    def get(self) -> Elasticsearch | None:
        url = ucloud_settings.ELASTICSEARCH_URL
        if not url:
            return None
        client = self._client
        if client is not None and self._pid == os.getpid():
            return client
        with self._lock:
            if self._client is None or self._pid != os.getpid():
                self._client = make_client(
                    str(url),
                    plain=bool(ucloud_settings.ELASTICSEARCH_PLAIN_JSON),
                    timeout=float(ucloud_settings.ELASTICSEARCH_TIMEOUT),
                )
                self._pid = os.getpid()
            return self._client

    def reset(self) -> None:
        with self._lock:
            if self._client is not None and self._pid == os.getpid():
                self._client.close()
            self._client = None


shared_client = _SharedClient()


def elasticsearch_client() -> Elasticsearch | None:
    """The process's client, or None when no ``ELASTICSEARCH_URL`` is set."""
    return shared_client.get()


def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "UCLOUD":
        shared_client.reset()


setting_changed.connect(_reset)
