"""What metrics and tracing cost: calls per second with them on / off.

In process, ``files.retrieve`` through ``RPCClient`` with the kit's
observers installed or not (both sides of the call: two spans, two counters,
two histograms). Over HTTP, the same call with ``force_http`` to a gunicorn
server of the project started with ``UCLOUD_METRICS``/``UCLOUD_TRACING`` on
(in multiprocess mode, as under any gunicorn), whose observers each request
switches on or off (``bench.observation_switch``), the client observing or
not alike; three such servers in turn, each with its own hash seed, their
samples pooled::

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
from bench.observation_switch import SWITCH_HEADER, SWITCH_VARIABLE
from bench.server import gunicorn_server

MICROSECONDS = 1e6
# Servers measured in turn over HTTP, each observing and not by turns.
SERVERS = 3
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
    world: World, base_url: str, *, repeats: int, sample_seconds: float
) -> dict[str, list[float]]:
    from apps.files.api import FileDescriptions
    from ucloud.auth.tokens import decode_access_token
    from ucloud.rpc import transports
    from ucloud.rpc.client import RPCClient

    client = RPCClient(decode_access_token(world.token), force_http=True)
    request = {"id": world.file_id}

    def variant(name: str) -> Call:
        install = _switch(name == "on")

        def call() -> Any:
            install()
            # Every call sets the header (the same work either way): the
            # server observes this request, or not, as the client does.
            transports.shared_http_client.get().headers[SWITCH_HEADER] = name
            return FileDescriptions.retrieve.call(request, client)

        return call

    try:
        transports._http["files"] = transports.HttpTransport("files", base_url)
        _check_switch(base_url, world.token, request)
        return _samples(
            {"on": variant("on"), "off": variant("off")},
            repeats=repeats,
            sample_seconds=sample_seconds,
            each_call=True,
        )
    finally:
        transports.reset()
        _switch(True)()


def _check_switch(base_url: str, token: str, request: dict[str, Any]) -> None:
    """The server observes a request when asked and only then (its Trace-Id)."""
    import httpx

    answers = {
        name: httpx.get(
            f"{base_url}/api/files/retrieve",
            params=request,
            headers={"Authorization": f"Bearer {token}", SWITCH_HEADER: name},
        )
        for name in ("on", "off")
    }
    if any(answer.status_code != 200 for answer in answers.values()):
        raise RuntimeError(f"the switching server did not answer: {answers}")
    if "Trace-Id" not in answers["on"].headers or "Trace-Id" in answers["off"].headers:
        raise RuntimeError("the server did not switch its observation as the header asked")


def measure(world: World, *, repeats: int, sample_seconds: float) -> dict[str, Any]:
    in_process = _in_process(world, repeats=repeats, sample_seconds=sample_seconds)
    pooled: dict[str, list[float]] = {"on": [], "off": []}
    server_ratios = []
    for number in range(SERVERS):
        # Two processes of the same code differ by a few per cent in speed
        # (hash seeds, memory layout, their workers' cores): as much as what
        # is measured, and it showed as observation's cost when one server
        # observed and another did not. One server serves both variants;
        # several servers, each with its own hash seed, are pooled.
        metrics_dir = tempfile.mkdtemp(prefix="ucloud-bench-metrics-")
        env = {
            **world.server_env,
            "PYTHONHASHSEED": str(HASH_SEED + number),
            "PROMETHEUS_MULTIPROC_DIR": metrics_dir,
            SWITCH_VARIABLE: "1",
        }
        env.pop("UCLOUD_FORCE_HTTP", None)
        try:
            with gunicorn_server(env, workers=2) as server:
                samples = _over_http(
                    world,
                    server.base_url,
                    # A call over HTTP takes milliseconds and the load of a shared
                    # machine comes in bursts of about as long as a sample: many
                    # short pairs of samples weather them better than a few long ones.
                    repeats=repeats,
                    sample_seconds=sample_seconds,
                )
        finally:
            shutil.rmtree(metrics_dir, ignore_errors=True)
        server_ratios.append(paired_ratio(samples["off"], samples["on"]))
        for name in pooled:
            pooled[name] += samples[name]
    http = {**_figures(pooled), "servers": SERVERS, "server_ratios": server_ratios}
    return {
        "inprocess_ratio": in_process["ratio"],
        "http_ratio": http["ratio"],
        "call": "files.retrieve",
        "inprocess": in_process,
        "http": http,
        "span_export": "OTLP" if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") else "span store",
    }
