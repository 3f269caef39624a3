"""Where a request's time goes: cProfile over many requests, summed by package.

Sends the same GET through Django's ``WSGIHandler`` in this process (no
sockets), as ``wsgi_handler.py`` does, under ``cProfile``; prints the time
per request spent in each package's own code, and the time inside the steps
of a call (authentication, the pipeline, the service, serializers, the
driver)::

    .venv/bin/python bench/request_profile.py                    # the kit's files.retrieve
    .venv/bin/python bench/request_profile.py --endpoint bare    # the bare APIView
    .venv/bin/python bench/request_profile.py --top 40           # and the 40 costliest functions

The profiler counts this process's CPU time, not wall time: waiting for
PostgreSQL, or for a CPU that another process holds on a shared machine,
is left out. cProfile slows Python code by about 2x, so read the shares
and the differences, not the absolute figures.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import sysconfig
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from bench.environment import World, prepare  # noqa: E402
from bench.wsgi_handler import request_sender  # noqa: E402

STDLIB = sysconfig.get_paths()["stdlib"]
PATHS = {
    "kit": "/api/files/retrieve",
    "plain": "/bench/plain/files/retrieve",
    "bare": "/bench/bare/files/retrieve",
}
# Steps of a request: (label, file name ending, function name); cumulative time.
STEPS = [
    ("whole request (WSGIHandler)", "django/core/handlers/wsgi.py", "__call__"),
    ("  middleware before/after the view", "django/utils/deprecation.py", "__call__"),
    ("  URL resolution", "django/urls/resolvers.py", "resolve"),
    ("  database health check", "django/db/backends/base/base.py", "close_if_health_check_failed"),
    ("  DRF dispatch", "rest_framework/views.py", "dispatch"),
    ("    DRF initialize_request", "rest_framework/views.py", "initialize_request"),
    ("    authentication (JWT)", "rest_framework/request.py", "_authenticate"),
    ("    kit pipeline (execute)", "ucloud/rpc/pipeline.py", "execute"),
    ("      role and scope check", "ucloud/rpc/pipeline.py", "authorize"),
    ("      request validation", "ucloud/rpc/pipeline.py", "validate"),
    ("      files service", "apps/files/services.py", "file_retrieve"),
    ("        ORM: the file and its shares", "apps/files/services.py", "_file_and_shares"),
    ("      response serializer", "ucloud/rpc/prepared.py", "represent"),
    ("    bare view: the row by key", "bench/bare_views.py", "retrieve_by_hand"),
    ("    response rendering (JSON)", "rest_framework/renderers.py", "render"),
    ("  ORM: build SQL (all queries)", "django/db/models/sql/compiler.py", "as_sql"),
    ("  driver: execute (all queries)", "psycopg/cursor.py", "execute"),
]


def package_of(filename: str) -> str:
    """``django``, ``rest_framework``, ``ucloud``... for a profiled file name."""
    if filename.startswith(("~", "<")):
        return "builtins (C)"
    path = Path(filename)
    for part in ("site-packages", "dist-packages"):
        if part in path.parts:
            return path.parts[path.parts.index(part) + 1].removesuffix(".py")
    if filename.startswith(STDLIB):
        return "stdlib"
    try:
        return path.relative_to(ROOT).parts[0]
    except ValueError:
        return "other"


def profile(world: World, endpoint: str, requests: int) -> pstats.Stats:
    from django.core.handlers.wsgi import WSGIHandler

    send = request_sender(WSGIHandler(), PATHS[endpoint], f"id={world.file_id}", world.token)
    for _ in range(200):  # warm up: connections, caches, prepared statements
        send()
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(requests):
        send()
    profiler.disable()
    return pstats.Stats(profiler)


def summary(stats: pstats.Stats, requests: int) -> dict[str, Any]:
    """Own time per package and cumulative time per step, µs per request."""
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    by_package: dict[str, float] = defaultdict(float)
    calls_by_package: dict[str, int] = defaultdict(int)
    steps: dict[str, float] = {}
    for (filename, _, name), (_, calls, own, cumulative, _) in raw.items():
        by_package[package_of(filename)] += own
        calls_by_package[package_of(filename)] += calls
        for label, ending, function in STEPS:
            if filename.endswith(ending) and name == function:
                # Recursive entries count once: cProfile's cumulative time
                # already covers the nested calls.
                steps[label] = max(steps.get(label, 0.0), cumulative)
    scale = 1e6 / requests
    total = sum(by_package.values())
    return {
        "us_per_request": round(total * scale, 1),
        # Deterministic, unlike times: the steadiest measure of Python work.
        "calls_per_request": round(sum(calls_by_package.values()) / requests),
        "own_time_by_package": {
            name: {
                "us": round(seconds * scale, 1),
                "share": round(seconds / total, 3),
                "calls": round(calls_by_package[name] / requests),
            }
            for name, seconds in sorted(by_package.items(), key=lambda item: -item[1])
        },
        "steps_us": {label: round(steps.get(label, 0.0) * scale, 1) for label, _, _ in STEPS},
    }


def render(result: dict[str, Any], endpoint: str) -> str:
    lines = [
        f"{endpoint}: {result['us_per_request']:.0f} µs of CPU per request under cProfile, "
        f"{result['calls_per_request']} Python function calls",
        "",
        f"{'own time by package':<40}{'µs/req':>8}{'share':>8}{'calls':>8}",
    ]
    for name, figures in result["own_time_by_package"].items():
        if figures["share"] >= 0.005:
            lines.append(
                f"{name:<40}{figures['us']:>8.1f}{figures['share']:>8.1%}{figures['calls']:>8}"
            )
    lines += ["", f"{'time inside (cumulative)':<40}{'µs/req':>8}"]
    lines += [f"{label:<40}{us:>8.1f}" for label, us in result["steps_us"].items() if us]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", choices=sorted(PATHS), default="kit")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=0, help="also list the N costliest functions")
    args = parser.parse_args(argv)
    world = prepare()
    try:
        stats = profile(world, args.endpoint, args.requests)
    finally:
        world.cleanup()
    print(render(summary(stats, args.requests), args.endpoint))
    if args.top:
        print()
        stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
