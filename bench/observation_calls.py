"""The Python calls metrics and tracing add to a call, on each side of it.

Time figures of a few microseconds drown in a shared machine's noise; the
number of Python function calls does not (cProfile counts them exactly),
and inside a request each costs a few tenths of a microsecond. Counted here
for ``files.retrieve``: the callee's side through Django's WSGI handler in
this process, with a caller's ``traceparent``; the caller's side over HTTP
to a gunicorn of the project that observes nothing. Each with observation
off, then on (metrics alone, tracing alone, both); metrics in multiprocess
mode, as under gunicorn::

    .venv/bin/python bench/observation_calls.py             # calls added per call
    .venv/bin/python bench/observation_calls.py --top 25    # and by function
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from bench.environment import World, multiprocess_world  # noqa: E402
from bench.measure import Call  # noqa: E402
from bench.server import gunicorn_server  # noqa: E402
from bench.wsgi_handler import request_sender  # noqa: E402

CALLS = 1000
WARMUP = 200
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
Counts = dict[str, int]


def _install(metrics: bool, tracing: bool) -> Callable[[], None]:
    from ucloud import observers
    from ucloud.observe.calls import CallObservation

    observation = CallObservation(metrics=metrics, tracing=tracing)
    if not (metrics or tracing):
        return lambda: observers.install()
    return lambda: observers.install(calls=observation)


VARIANTS = {
    "off": (False, False),
    "metrics": (True, False),
    "tracing": (False, True),
    "both": (True, True),
}


def _counted(call: Call) -> Counts:
    for _ in range(WARMUP):
        call()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(CALLS):
        call()
    profiler.disable()
    raw: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    return {
        f"{Path(file).name}:{line}({name})": calls
        for (file, line, name), (_, calls, *_) in raw.items()
    }


def _per_variant(call: Call) -> dict[str, Counts]:
    from ucloud import observers

    found = {}
    try:
        for name, (metrics, tracing) in VARIANTS.items():
            _install(metrics, tracing)()
            found[name] = _counted(call)
    finally:
        observers.install()
    return found


def _callee(world: World) -> dict[str, Counts]:
    from django.core.handlers.wsgi import WSGIHandler

    send = request_sender(
        WSGIHandler(),
        "/api/files/retrieve",
        f"id={world.file_id}",
        world.token,
        headers={"HTTP_TRACEPARENT": TRACEPARENT},
    )
    return _per_variant(send)


def _caller(world: World) -> dict[str, Counts]:
    from apps.files.api import FileDescriptions
    from ucloud.auth.tokens import decode_access_token
    from ucloud.rpc import transports
    from ucloud.rpc.client import RPCClient

    env = {**world.server_env, "UCLOUD_METRICS": "false", "UCLOUD_TRACING": "false"}
    env.pop("UCLOUD_FORCE_HTTP", None)
    client = RPCClient(decode_access_token(world.token), force_http=True)
    request = {"id": world.file_id}
    with gunicorn_server(env, workers=1) as server:
        transports._http["files"] = transports.HttpTransport("files", server.base_url)
        try:
            return _per_variant(lambda: FileDescriptions.retrieve.call(request, client))
        finally:
            transports.reset()


def _added(counts: dict[str, Counts], variant: str) -> dict[str, float]:
    on, off = counts[variant], counts["off"]
    return {
        name: (on.get(name, 0) - off.get(name, 0)) / CALLS
        for name in on.keys() | off.keys()
        if on.get(name, 0) != off.get(name, 0)
    }


def render(sides: dict[str, dict[str, Counts]], top: int) -> str:
    lines = [
        f"{'Python calls added per call':<30}" + "".join(f"{v:>10}" for v in VARIANTS if v != "off")
    ]
    for side, counts in sides.items():
        figures = [
            sum(_added(counts, variant).values()) for variant in VARIANTS if variant != "off"
        ]
        lines.append(f"{side:<30}" + "".join(f"{figure:>10.1f}" for figure in figures))
    for side, counts in sides.items():
        if top:
            added = _added(counts, "both")
            lines += ["", f"{side}, both on: the functions with the most calls added"]
            for name, calls in sorted(added.items(), key=lambda item: -abs(item[1]))[:top]:
                lines.append(f"{calls:>8.1f}  {name}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=0, help="also list the N functions added most")
    args = parser.parse_args(argv)
    with multiprocess_world() as world:
        sides = {"callee (WSGI, traceparent)": _callee(world), "caller (HTTP)": _caller(world)}
    print(render(sides, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
