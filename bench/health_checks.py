"""What the per-request connection health check costs: two servers, wrk in turns.

Django's ``CONN_HEALTH_CHECKS`` runs ``SELECT 1`` before the first query of
each request on a kept connection. This serves ``files.retrieve`` from two
gunicorns of the benchmark project, one with the check
(``DATABASE_CONN_HEALTH_CHECKS=true``, the default) and one without, and
loads them in turns. Not part of ``make bench``; run it by hand::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mydb \\
        .venv/bin/python bench/health_checks.py --repeats 16
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from bench.environment import World, prepare  # noqa: E402
from bench.load import Endpoint, WrkSettings, run_wrk  # noqa: E402
from bench.measure import median, paired_ratio  # noqa: E402
from bench.server import Server, gunicorn_server  # noqa: E402


def _run(server: Server, token: str, endpoint: Endpoint) -> tuple[float, float | None]:
    """req/s of one wrk run, and the server's CPU ms per request."""
    before = server.cpu_seconds()
    result = run_wrk(server.base_url, token, endpoint, WrkSettings(seconds=1))
    after = server.cpu_seconds()
    cpu = None
    if before is not None and after is not None:
        cpu = (after - before) / result["requests"] * 1e3
    return result["requests_per_s"], cpu


def measure(world: World, repeats: int) -> dict[str, Any]:
    endpoint = Endpoint("GET", f"/api/files/retrieve?id={world.file_id}")
    envs = {
        "checked": {**world.server_env, "DATABASE_CONN_HEALTH_CHECKS": "true"},
        "unchecked": {**world.server_env, "DATABASE_CONN_HEALTH_CHECKS": "false"},
    }
    rates: dict[str, list[float]] = {name: [] for name in envs}
    cpu: dict[str, list[float]] = {name: [] for name in envs}
    with (
        gunicorn_server(envs["checked"]) as checked,
        gunicorn_server(envs["unchecked"]) as unchecked,
    ):
        servers = {"checked": checked, "unchecked": unchecked}
        for server in servers.values():  # warm up
            run_wrk(server.base_url, world.token, endpoint, WrkSettings(seconds=2))
        names = list(servers)
        for repeat in range(repeats):
            for name in names if repeat % 2 == 0 else reversed(names):
                rate, ms = _run(servers[name], world.token, endpoint)
                rates[name].append(rate)
                if ms is not None:
                    cpu[name].append(ms)
    figures: dict[str, Any] = {
        "checked_vs_unchecked_ratio": paired_ratio(rates["checked"], rates["unchecked"]),
        **{f"{name}_requests_per_s": round(median(values)) for name, values in rates.items()},
    }
    if all(cpu.values()):
        figures.update(
            {f"{name}_cpu_per_request_ms": round(median(ms), 3) for name, ms in cpu.items()}
        )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=16)
    args = parser.parse_args(argv)
    world = prepare()
    try:
        figures = measure(world, args.repeats)
    finally:
        world.cleanup()
    for key, value in figures.items():
        print(f"{key:<34}{value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
