"""Server-side cost of one request, without sockets: Django's WSGI handler in this process.

The same GET as the wrk comparison (kit route, baseline ``APIView`` and the
bare view) goes through ``WSGIHandler`` (middleware, URL resolution, DRF,
the kit) in small interleaved batches. No network and no other process are
involved, so the figure moves far less with the machine's load than wrk's
req/s::

    result = measure(world, repeats=15, sample_seconds=0.15)
    result["ratio"]        # kit requests/s divided by APIView requests/s
    result["bare_ratio"]   # kit requests/s divided by bare view requests/s
"""

from __future__ import annotations

import io
import sys
from typing import Any

from bench.environment import World
from bench.measure import Call, interleave, median, paired_ratio, summary

MICROSECONDS = 1e6


def _start_response(status: str, headers: list[tuple[str, str]]) -> None:
    if not status.startswith("200"):
        raise RuntimeError(f"benchmark request failed: {status}")


def request_sender(
    handler: Any, path: str, query: str, token: str, headers: dict[str, str] | None = None
) -> Call:
    """A function sending one GET through ``handler``; it returns the body.
    ``headers``: more request headers, as WSGI names them (``HTTP_TRACEPARENT``)."""
    more = dict(headers or {})

    def send() -> bytes:
        environ = {
            **more,
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
        }
        response = handler(environ, _start_response)
        try:
            return b"".join(response)
        finally:
            response.close()

    return send


def measure(world: World, *, repeats: int, sample_seconds: float) -> dict[str, Any]:
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()
    query = f"id={world.file_id}"
    variants = {
        "kit": request_sender(handler, "/api/files/retrieve", query, world.token),
        "plain": request_sender(handler, "/bench/plain/files/retrieve", query, world.token),
        "bare": request_sender(handler, "/bench/bare/files/retrieve", query, world.token),
    }
    if variants["kit"]() != variants["plain"]():
        raise RuntimeError("kit and baseline answered differently")
    samples = interleave(variants, repeats=repeats, sample_seconds=sample_seconds)
    return {
        # Requests per second are inverse times: baseline time / kit time.
        "ratio": paired_ratio(samples["plain"], samples["kit"]),
        "bare_ratio": paired_ratio(samples["bare"], samples["kit"]),
        "overhead_us": round((median(samples["kit"]) - median(samples["plain"])) * 1e6, 1),
        "kit_us": summary(samples["kit"], unit="µs/request", scale=MICROSECONDS),
        "plain_us": summary(samples["plain"], unit="µs/request", scale=MICROSECONDS),
        "bare_us": summary(samples["bare"], unit="µs/request", scale=MICROSECONDS),
    }
