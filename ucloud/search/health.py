"""The search engine as ``/status`` reports it: up or not, and how fast.

Only a search engine of its own is reported (Elasticsearch, when
``ELASTICSEARCH_URL`` is set); the database backends are the database,
which ``/status`` checks already. An engine that is down does not make the
unit unready: writes never wait for it (indexing follows events, which
wait for it), only searches answer 503 meanwhile::

    {"search": {"ok": true, "backend": "elasticsearch", "latency_ms": 1.8}}
"""

from __future__ import annotations

import time
from typing import Any

from ucloud.search.backends.elasticsearch import engine_errors
from ucloud.search.client import elasticsearch_client


def check_search() -> dict[str, Any] | None:
    """None when no search engine is configured."""
    client = elasticsearch_client()
    if client is None:
        return None
    started = time.perf_counter()
    try:
        with engine_errors():
            client.info()
    except Exception as exc:  # refused, timeout, an error status: all "down"
        cause = exc.__cause__ or exc
        return {"ok": False, "backend": "elasticsearch", "error": type(cause).__name__}
    latency = (time.perf_counter() - started) * 1000
    return {"ok": True, "backend": "elasticsearch", "latency_ms": round(latency, 3)}
