"""What metrics and tracing cost: calls per second with them on / off.

In process, ``files.retrieve`` through ``RPCClient`` with the kit's
observers installed or not (both sides of the call: two spans, two counters,
two histograms). Over HTTP, the same call with ``force_http`` to two
gunicorn servers of the project, one with ``UCLOUD_METRICS``/``UCLOUD_TRACING``
on (in multiprocess mode, as under any gunicorn) and one with them off,
the client observing or not alike; three such pairs in turn, each pair
sharing a hash seed, their samples pooled::

    figures = measure(world, repeats=15, sample_seconds=0.1)
    figures["inprocess_ratio"], figures["http_ratio"]     # on calls/s / off calls/s
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from typing import Any

from bench.environment import World
from bench.measure import Call, interleave, median, paired_ratio, summary
from bench.server import gunicorn_server

MICROSECONDS = 1e6
# Pairs of servers (observing, not observing) measured in turn over HTTP.
SERVER_PAIRS = 3
HASH_SEED = 1000


def _switch(on: bool) -> Callable[[], None]:
    """Installs the kit's observers (or none), as the settings would."""
    from ucloud import observers
    from ucloud.observe.calls import CallObservation
    from ucloud.observe.events import EventObservation, LockObservation

    if not on:
        return lambda: observers.install()
    calls = CallObservation(metrics=True, tracing=True)
    events = EventObservation(metrics=True, tracing=True)
    locks = LockObservation()
    return lambda: observers.install(calls=calls, events=events, locks=locks)


def _samples(
    variants: dict[str, Call], *, repeats: int, sample_seconds: float, each_call: bool = False
) -> dict[str, list[float]]:
    if variants["on"]() != variants["off"]():
        raise RuntimeError("the call answers differently with observation on and off")
    return interleave(
        variants, repeats=repeats, sample_seconds=sample_seconds, warmup=50, each_call=each_call
    )


def _figures(samples: dict[str, list[float]]) -> dict[str, Any]:
    return {
        # Calls per second are inverse times: time off / time on.
        "ratio": paired_ratio(samples["off"], samples["on"]),
        "added_us": round((median(samples["on"]) - median(samples["off"])) * MICROSECONDS, 1),
        "on_us": summary(samples["on"], unit="µs/call", scale=MICROSECONDS),
        "off_us": summary(samples["off"], unit="µs/call", scale=MICROSECONDS),
    }


def _compare(variants: dict[str, Call], *, repeats: int, sample_seconds: float) -> dict[str, Any]:
    return _figures(_samples(variants, repeats=repeats, sample_seconds=sample_seconds))


def _in_process(world: World, *, repeats: int, sample_seconds: float) -> dict[str, Any]:
    from apps.files.api import FileDescriptions
    from ucloud.rpc.client import RPCClient

    client = RPCClient.for_token(world.token)
    request = {"id": world.file_id}

    def variant(on: bool) -> Call:
        install = _switch(on)

        def call() -> Any:
            install()
            return FileDescriptions.retrieve.call(request, client)

        return call

    try:
        return _compare(
            {"on": variant(True), "off": variant(False)},
            repeats=repeats,
            sample_seconds=sample_seconds,
        )
    finally:
        _switch(True)()


def _over_http(
    world: World, urls: dict[str, str], *, repeats: int, sample_seconds: float
) -> dict[str, list[float]]:
    from apps.files.api import FileDescriptions
    from ucloud.auth.tokens import decode_access_token
    from ucloud.rpc import transports
    from ucloud.rpc.client import RPCClient

    client = RPCClient(decode_access_token(world.token), force_http=True)
    request = {"id": world.file_id}
    # One transport per server; the variant puts its own where the client finds it.
    found = {name: transports.HttpTransport("files", url) for name, url in urls.items()}

    def variant(name: str) -> Call:
        install = _switch(name == "on")

        def call() -> Any:
            install()
            transports._http["files"] = found[name]
            return FileDescriptions.retrieve.call(request, client)

        return call

    try:
        return _samples(
            {"on": variant("on"), "off": variant("off")},
            repeats=repeats,
            sample_seconds=sample_seconds,
            each_call=True,
        )
    finally:
        transports.reset()
        _switch(True)()


def measure(world: World, *, repeats: int, sample_seconds: float) -> dict[str, Any]:
    in_process = _in_process(world, repeats=repeats, sample_seconds=sample_seconds)
    pooled: dict[str, list[float]] = {"on": [], "off": []}
    pair_ratios = []
    for pair in range(SERVER_PAIRS):
        # Two processes of the same code differ by a few per cent in speed
        # (hash seeds, memory layout): as much as what is measured. Each pair
        # of servers shares a hash seed, and several pairs are pooled.
        seed = {"PYTHONHASHSEED": str(HASH_SEED + pair)}
        metrics_dir = tempfile.mkdtemp(prefix="ucloud-bench-metrics-")
        on_env = {**world.server_env, **seed, "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
        off_env = {
            **world.server_env,
            **seed,
            "UCLOUD_METRICS": "false",
            "UCLOUD_TRACING": "false",
        }
        for env in (on_env, off_env):
            env.pop("UCLOUD_FORCE_HTTP", None)
        with gunicorn_server(on_env, workers=2) as on, gunicorn_server(off_env, workers=2) as off:
            samples = _over_http(
                world,
                {"on": on.base_url, "off": off.base_url},
                # A call over HTTP takes milliseconds and the load of a shared
                # machine comes in bursts of about as long as a sample: many
                # short pairs of samples weather them better than a few long ones.
                repeats=repeats,
                sample_seconds=sample_seconds,
            )
        shutil.rmtree(metrics_dir, ignore_errors=True)
        pair_ratios.append(paired_ratio(samples["off"], samples["on"]))
        for name in pooled:
            pooled[name] += samples[name]
    http = {**_figures(pooled), "server_pairs": SERVER_PAIRS, "pair_ratios": pair_ratios}
    return {
        "inprocess_ratio": in_process["ratio"],
        "http_ratio": http["ratio"],
        "call": "files.retrieve",
        "inprocess": in_process,
        "http": http,
        "span_export": "OTLP" if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") else "span store",
    }
