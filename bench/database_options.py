"""What the kit's database options cost or save: servers side by side, wrk in turns.

Serves ``files.retrieve`` from three gunicorns of the benchmark project:
the defaults (a ``SELECT 1`` health check before each request's first
query, prepared statements on PostgreSQL), one without the health check
(``DATABASE_CONN_HEALTH_CHECKS=false``) and one without prepared statements
(``DATABASE_PREPARED_STATEMENTS=false``), and loads them in turns. Not part
of ``make bench``; run it by hand::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mydb \\
        .venv/bin/python bench/database_options.py --repeats 16
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
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


VARIANTS = {
    "defaults": {},
    "no_health_checks": {"DATABASE_CONN_HEALTH_CHECKS": "false"},
    "no_prepared_statements": {"DATABASE_PREPARED_STATEMENTS": "false"},
}


def measure(world: World, repeats: int) -> dict[str, Any]:
    endpoint = Endpoint("GET", f"/api/files/retrieve?id={world.file_id}")
    rates: dict[str, list[float]] = {name: [] for name in VARIANTS}
    cpu: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with ExitStack() as stack:
        servers = {
            name: stack.enter_context(gunicorn_server({**world.server_env, **env}))
            for name, env in VARIANTS.items()
        }
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
        # Above 1: the option pays for itself.
        f"defaults_vs_{name}_ratio": paired_ratio(rates["defaults"], rates[name])
        for name in names[1:]
    }
    figures.update({f"{name}_requests_per_s": round(median(rates[name])) for name in names})
    if all(cpu.values()):
        figures.update(
            {f"{name}_cpu_per_request_ms": round(median(cpu[name]), 3) for name in names}
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
        print(f"{key:<46}{value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
