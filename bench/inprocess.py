"""In-process cost of a kit call against the same work written by hand.

The kit call is ``FileDescriptions.retrieve.call({"id": ...}, client)`` on the
in-process transport; the baseline validates the same request serializer,
calls ``services.file_retrieve`` and renders the ``File`` serializer itself.
``accounts.whoami`` (no database at all) is measured too, as the worst case::

    result = measure(world, repeats=15, sample_seconds=0.15)
    result["files.retrieve"]["ratio"]      # kit time / baseline time
"""

from __future__ import annotations

from typing import Any

from bench.environment import World
from bench.measure import Call, interleave, median, paired_ratio, summary

MICROSECONDS = 1e6


def _retrieve_variants(world: World) -> dict[str, Call]:
    from apps.files import services
    from apps.files.api import File, FileDescriptions, FileIdRequest
    from ucloud.rpc.client import RPCClient

    client = RPCClient.for_token(world.token)
    username = client.principal.username
    request = {"id": world.file_id}

    def kit() -> Any:
        return FileDescriptions.retrieve.call(request, client)

    def plain() -> Any:
        serializer = FileIdRequest(data=request)
        serializer.is_valid(raise_exception=True)
        return File(services.file_retrieve(username=username, **serializer.validated_data)).data

    return {"kit": kit, "plain": plain}


def _whoami_variants(world: World) -> dict[str, Call]:
    from apps.accounts.api import AccountDescriptions, UserInfo
    from ucloud.contracts.calls import Empty
    from ucloud.rpc.client import RPCClient

    client = RPCClient.for_token(world.token)
    principal = client.principal

    def kit() -> Any:
        return AccountDescriptions.whoami.call({}, client)

    def plain() -> Any:
        serializer = Empty(data={})
        serializer.is_valid(raise_exception=True)
        return UserInfo({"username": principal.username, "role": principal.role.value}).data

    return {"kit": kit, "plain": plain}


def _compare(variants: dict[str, Call], *, repeats: int, sample_seconds: float) -> dict[str, Any]:
    kit, plain = variants["kit"](), variants["plain"]()
    if kit != plain:
        raise RuntimeError(f"kit and baseline disagree: {kit!r} != {plain!r}")
    samples = interleave(variants, repeats=repeats, sample_seconds=sample_seconds)
    kit_time, plain_time = median(samples["kit"]), median(samples["plain"])
    return {
        "ratio": paired_ratio(samples["kit"], samples["plain"]),
        "ratio_of_medians": round(kit_time / plain_time, 3),
        "overhead_us": round((kit_time - plain_time) * MICROSECONDS, 1),
        "kit_us": summary(samples["kit"], unit="µs/call", scale=MICROSECONDS),
        "plain_us": summary(samples["plain"], unit="µs/call", scale=MICROSECONDS),
        "kit_seconds_per_call": kit_time,
    }


def measure(world: World, *, repeats: int, sample_seconds: float) -> dict[str, Any]:
    """Kit vs hand-written, for files.retrieve (headline) and accounts.whoami."""
    return {
        "files.retrieve": _compare(
            _retrieve_variants(world), repeats=repeats, sample_seconds=sample_seconds
        ),
        "accounts.whoami": _compare(
            _whoami_variants(world), repeats=repeats, sample_seconds=sample_seconds
        ),
    }
