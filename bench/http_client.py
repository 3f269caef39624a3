"""Client cost of a kit call over HTTP against a plain ``httpx.Client``.

Both send the same request with the same bearer token to the same gunicorn
server, one call after another, and decode the JSON answer. The kit call goes
through ``RPCClient(principal, force_http=True)`` with ``SERVICE_URLS``
pointing at the server, i.e. the ``HttpTransport``. Measured for
``files.retrieve`` (headline) and ``accounts.whoami`` (no database)::

    result = measure(world, base_url, repeats=15, sample_seconds=0.3)
    result["files.retrieve"]["ratio"]     # kit calls/s divided by plain httpx calls/s
"""

from __future__ import annotations

from typing import Any

import httpx

from bench.environment import World
from bench.measure import Call, interleave, median, paired_ratio, summary

MILLISECONDS = 1e3


def _variants(
    world: World, base_url: str, plain_client: httpx.Client, call_name: str
) -> dict[str, Call]:
    from apps.accounts.api import AccountDescriptions
    from apps.files.api import FileDescriptions
    from ucloud.auth.tokens import decode_access_token
    from ucloud.rpc.client import RPCClient

    call, request = {
        "files.retrieve": (FileDescriptions.retrieve, {"id": world.file_id}),
        "accounts.whoami": (AccountDescriptions.whoami, {}),
    }[call_name]
    kit_client = RPCClient(decode_access_token(world.token), force_http=True)
    url = f"{base_url}/{call.path}"
    headers = {"Authorization": f"Bearer {world.token}"}

    def kit() -> Any:
        return call.call(request, kit_client)

    def plain() -> Any:
        # Both calls are GETs with the request in the query string.
        response = plain_client.get(url, params=request, headers=headers)
        response.raise_for_status()
        return response.json()

    return {"kit": kit, "plain": plain}


def _compare(variants: dict[str, Call], *, repeats: int, sample_seconds: float) -> dict[str, Any]:
    kit, plain = variants["kit"](), variants["plain"]()
    if kit != plain:
        raise RuntimeError(f"kit and baseline disagree: {kit!r} != {plain!r}")
    samples = interleave(
        variants, repeats=repeats, sample_seconds=sample_seconds, warmup=20, each_call=True
    )
    kit_rate, plain_rate = 1 / median(samples["kit"]), 1 / median(samples["plain"])
    return {
        # Calls per second are inverse times: plain time / kit time.
        "ratio": paired_ratio(samples["plain"], samples["kit"]),
        "ratio_of_medians": round(kit_rate / plain_rate, 3),
        "kit_calls_per_s": round(kit_rate, 1),
        "plain_calls_per_s": round(plain_rate, 1),
        "kit_ms": summary(samples["kit"], unit="ms/call", scale=MILLISECONDS),
        "plain_ms": summary(samples["plain"], unit="ms/call", scale=MILLISECONDS),
        "kit_seconds_per_call": median(samples["kit"]),
    }


def measure(world: World, base_url: str, *, repeats: int, sample_seconds: float) -> dict[str, Any]:
    from django.conf import settings
    from django.test import override_settings

    # Every service is reached at the benchmark server; the override resets
    # the kit's cached topology and HTTP client on entry and exit.
    urls = {"files": base_url, "accounts": base_url}
    results = {}
    with (
        override_settings(UCLOUD={**settings.UCLOUD, "SERVICE_URLS": urls}),
        httpx.Client() as plain_client,
    ):
        for call_name in ("files.retrieve", "accounts.whoami"):
            variants = _variants(world, base_url, plain_client, call_name)
            results[call_name] = _compare(variants, repeats=repeats, sample_seconds=sample_seconds)
    return results
