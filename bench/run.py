"""Run every benchmark once, print a table and write ``bench/results.json``.

Each figure is a ratio against a raw baseline measured in the same run, on
the same database and server, in interleaved repeats (medians)::

    make bench                               # bench/setup.sh, then this script
    .venv/bin/python bench/run.py --quick    # shorter, for trying things out
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from bench import http_client, inprocess, load, observability, wsgi_handler  # noqa: E402
from bench.environment import World, prepare  # noqa: E402
from bench.server import gunicorn_server  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results.json"
TARGETS = {
    "inprocess_overhead_ratio": "<= 1.1",
    "inprocess_overhead_ratio_whoami": "<= 1.3",
    "http_client_ratio": ">= 0.9",
    "server_ratio": ">= 0.9",
    "server_vs_bare_ratio": ">= 0.8",
    "inprocess_vs_bare_ratio": "(report)",
    "cpu_per_request_ms": "(report: kit and bare)",
    "inprocess_speedup": "(larger is better)",
    "observability_overhead_ratio": "in-process >= 0.85, HTTP >= 0.95",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repeats")
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads (gthread)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--skip-events", action="store_true", help="skip the event and lock benchmarks"
    )
    parser.add_argument(
        "--skip-search", action="store_true", help="skip the search and audit benchmarks"
    )
    return parser.parse_args(argv)


# Keys the event and lock benchmarks add to results.json.
EVENT_KEYS = (
    "events_e2e_per_s",
    "events_vs_celery_ratio",
    "events_vs_streams_ratio",
    "produce_overhead_ms_p50",
    "events_ordered_per_s",
    "ordered_vs_unordered_ratio",
)


def measure_events_and_locks(postgres_url: str | None) -> dict[str, Any]:
    """Events end to end (workers, Redis) and locks, against their raw baselines.

    ``postgres_url``: the PostgreSQL server given by ``DATABASE_URL`` before
    ``prepare()`` pointed it at a temporary SQLite file, or None.
    """
    from bench import events, gateway, locks

    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    print("events: outbox -> relay -> Redis Streams -> 2 consumers, vs raw Streams and Celery ...")
    event_figures = events.measure(redis_url, postgres_url)
    print("locks: kit Redis lock vs redis-py Lock ...")
    lock_figures = locks.measure(redis_url)
    figures = {key: event_figures[key] for key in EVENT_KEYS}
    figures["lock_ratio"] = lock_figures["lock_ratio"]
    figures["details_events"] = event_figures
    figures["details_locks"] = lock_figures
    print("gateway: three units behind nginx vs direct to the unit ...")
    gateway_figures = gateway.measure(postgres_url, repeats=10)
    figures["gateway_ratio"] = gateway_figures["gateway_ratio"]
    figures["gateway_p50_added_ms"] = gateway_figures["gateway_p50_added_ms"]
    figures["details_gateway"] = gateway_figures
    return figures


def measure_search_and_audit(world: World) -> dict[str, Any]:
    """Indexing against helpers.bulk, files.search against its SQL, audit on/off."""
    from bench import audit, search

    print("search: kit batched indexing vs helpers.bulk (osmem-server) ...", flush=True)
    indexing = search.measure_indexing(world)
    print("search: files.search over 100,000 files (PostgreSQL) vs its bare SQL ...", flush=True)
    searching = search.measure_searching(world)
    print("audit: files.create with the audit trail on vs off ...", flush=True)
    trail = audit.measure(world)
    return {
        "index_ratio": indexing["index_ratio"],
        "search_p50_ms": searching.get("search_p50_ms"),
        "search_vs_sql_ratio": searching.get("search_vs_sql_ratio"),
        "audit_overhead_ratio": trail["audit_overhead_ratio"],
        "details_search": {"indexing": indexing, "searching": searching},
        "details_audit": trail,
    }


def render_search(results: dict[str, Any]) -> str:
    rows = [
        ("index_ratio", ">= 0.8"),
        ("search_p50_ms", "<= 20"),
        ("search_vs_sql_ratio", ""),
        ("audit_overhead_ratio", ">= 0.95"),
    ]
    lines = [f"{'search, audit':<28}{'value':>10}  target"]
    lines += [f"{key:<28}{results[key]!s:>10}  {target}" for key, target in rows]
    return "\n".join(lines)


def _postgres_server() -> str | None:
    """DATABASE_URL when it is PostgreSQL; else the gateway bench's default."""
    url = os.environ.get("DATABASE_URL") or ""
    return url if url.startswith(("postgres://", "postgresql://")) else None


def render_events(results: dict[str, Any]) -> str:
    rows = [
        ("events_e2e_per_s", ""),
        ("events_vs_celery_ratio", ">= 10"),
        ("events_vs_streams_ratio", ">= 0.35"),
        ("produce_overhead_ms_p50", "<= 1"),
        ("events_ordered_per_s", ""),
        ("ordered_vs_unordered_ratio", ""),
        ("lock_ratio", ">= 0.8"),
        ("gateway_ratio", ">= 0.9"),
        ("gateway_p50_added_ms", ""),
    ]
    lines = [f"{'events, locks, gateway':<28}{'value':>10}  target"]
    lines += [f"{key:<28}{results[key]!s:>10}  {target}" for key, target in rows]
    return "\n".join(lines)


def _stop_on_sigterm() -> None:
    # Turn SIGTERM into SystemExit so that servers and files are cleaned up.
    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def measure_all(world: World, args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement, raw; ``compose`` turns them into the results."""
    repeats = 7 if args.quick else 15
    # In-process samples are CPU-bound and cheap: more, shorter pairs.
    local_repeats = 11 if args.quick else 31
    # Many one-second wrk runs in turns rather than a few long ones: bursts of
    # other load then hit kit and baseline runs alike (README.md, "Noise").
    wrk = load.WrkSettings(seconds=1)
    get_repeats, post_repeats = (4, 2) if args.quick else (24, 10)
    print("in-process calls ...", flush=True)
    in_process = inprocess.measure(world, repeats=local_repeats, sample_seconds=0.08)
    print("requests through the WSGI handler, in-process ...", flush=True)
    handler = wsgi_handler.measure(world, repeats=local_repeats, sample_seconds=0.08)
    with gunicorn_server(
        world.server_env, workers=2, worker_class=args.worker_class, threads=args.threads
    ) as server:
        print(f"gunicorn at {server.base_url}: sequential HTTP calls ...", flush=True)
        http = http_client.measure(world, server.base_url, repeats=repeats, sample_seconds=0.3)
        print(f"{wrk.describe()} x{get_repeats}: GET files.retrieve ...", flush=True)
        endpoints = load.retrieve_endpoints(world.file_id)
        get = load.compare(server, world.token, endpoints, settings=wrk, repeats=get_repeats)
        print(f"{wrk.describe()} x{post_repeats}: POST files.create ...", flush=True)
        endpoints = load.create_endpoints()
        post = load.compare(server, world.token, endpoints, settings=wrk, repeats=post_repeats)
    print("metrics and tracing on / off: in process, and over HTTP to 3 servers ...", flush=True)
    observed = observability.measure(
        world, repeats=local_repeats, sample_seconds=0.08 if args.quick else 0.1
    )
    return {
        "inprocess": in_process,
        "http_client": http,
        "observability": observed,
        "server": {"files.retrieve": get, "files.create": post, "wsgi_handler": handler},
        "settings": {
            "gunicorn": f"2 workers, {args.worker_class}, {args.threads} thread(s)",
            "wrk": wrk.describe(),
            "repeats": {
                "in_process": local_repeats,
                "http_calls": repeats,
                "wrk_get": get_repeats,
                "wrk_post": post_repeats,
            },
            "quick": args.quick,
        },
    }


def compose(raw: dict[str, Any], world: World) -> dict[str, Any]:
    """The headline figures (files.retrieve), targets, details."""
    inproc, http = raw["inprocess"], raw["http_client"]
    get = raw["server"]["files.retrieve"]
    figures = {
        "inprocess_overhead_ratio": inproc["files.retrieve"]["ratio"],
        "inprocess_overhead_ratio_whoami": inproc["accounts.whoami"]["ratio"],
        "http_client_ratio": http["files.retrieve"]["ratio"],
        "server_ratio": get["ratio"],
        "server_vs_bare_ratio": get["bare_ratio"],
        "inprocess_vs_bare_ratio": inproc["files.retrieve"]["bare_ratio"],
        "cpu_per_request_ms": {
            "kit": get.get("kit_cpu_per_request_ms"),
            "bare": get.get("bare_cpu_per_request_ms"),
        },
        "inprocess_speedup": _speedup(http["files.retrieve"], inproc["files.retrieve"]),
        "observability_overhead_ratio": {
            "in_process": raw["observability"]["inprocess_ratio"],
            "http": raw["observability"]["http_ratio"],
        },
    }
    met = {
        "inprocess_overhead_ratio": figures["inprocess_overhead_ratio"] <= 1.1,
        "inprocess_overhead_ratio_whoami": figures["inprocess_overhead_ratio_whoami"] <= 1.3,
        "http_client_ratio": figures["http_client_ratio"] >= 0.9,
        "server_ratio": figures["server_ratio"] >= 0.9,
        "server_vs_bare_ratio": figures["server_vs_bare_ratio"] >= 0.8,
        "observability_overhead_ratio": raw["observability"]["inprocess_ratio"] >= 0.85
        and raw["observability"]["http_ratio"] >= 0.95,
    }
    return {
        **figures,
        "targets": TARGETS,
        "targets_met": met,
        "details": {
            "call": "files.retrieve (GET /api/files/retrieve?id=N) unless named otherwise",
            "inprocess_speedup_whoami": _speedup(
                http["accounts.whoami"], inproc["accounts.whoami"]
            ),
            "inprocess": inproc,
            "http_client": http,
            "server": raw["server"],
            "observability": raw["observability"],
        },
        "environment": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "database": world.database_vendor,
            **raw["settings"],
        },
    }


def _speedup(over_http: dict[str, Any], in_process: dict[str, Any]) -> float:
    return round(over_http["kit_seconds_per_call"] / in_process["kit_seconds_per_call"], 2)


def _row(name: str, value: Any, target: str, kit: str, plain: str) -> str:
    return f"{name:<28} {value!s:>7}  {target:<8} {kit:>22} {plain:>22}"


def _per_call(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.1f} µs"


def _call_rows(label: str, inproc: dict[str, Any], http: dict[str, Any], target: bool) -> list[str]:
    """The in-process, HTTP-client and speedup rows of one call."""
    kit_local, plain_local = inproc["kit_seconds_per_call"], inproc["plain_us"]["median"] / 1e6
    names = (
        ("inprocess_overhead_ratio", "http_client_ratio", "inprocess_speedup")
        if target
        else (f"  in-process ({label})", f"  HTTP client ({label})", f"  speedup ({label})")
    )
    return [
        _row(
            names[0],
            inproc["ratio"],
            "<= 1.1" if target else "<= 1.3",
            f"kit {_per_call(kit_local)}",
            f"by hand {_per_call(plain_local)}",
        ),
        _row(
            names[1],
            http["ratio"],
            ">= 0.9" if target else "",
            f"kit {http['kit_calls_per_s']:.0f} calls/s",
            f"httpx {http['plain_calls_per_s']:.0f} calls/s",
        ),
        _row(
            names[2],
            f"{_speedup(http, inproc)}x",
            "",
            f"HTTP {_per_call(http['kit_seconds_per_call'])}",
            f"in-process {_per_call(kit_local)}",
        ),
    ]


def _server_row(name: str, result: dict[str, Any], target: str) -> str:
    return _row(
        name,
        result["ratio"],
        target,
        f"kit {result['kit_requests_per_s']:.0f} req/s",
        f"APIView {result['plain_requests_per_s']:.0f} req/s",
    )


def _bare_rows(server: dict[str, Any], inproc: dict[str, Any]) -> list[str]:
    """The kit against the bare view (server) and the bare function (in process)."""
    cpu = [server.get(f"{name}_cpu_per_request_ms") for name in ("kit", "bare")]
    kit_local, bare_local = inproc["kit_seconds_per_call"], inproc["bare_us"]["median"] / 1e6
    rows = [
        _row(
            "server_vs_bare_ratio",
            server["bare_ratio"],
            ">= 0.8",
            f"kit {server['kit_requests_per_s']:.0f} req/s",
            f"bare {server['bare_requests_per_s']:.0f} req/s",
        ),
        _row(
            "inprocess_vs_bare_ratio",
            inproc["bare_ratio"],
            "",
            f"kit {_per_call(kit_local)}",
            f"bare {_per_call(bare_local)}",
        ),
    ]
    if None not in cpu:
        rows.append(
            _row("cpu_per_request_ms", "", "", f"kit {cpu[0]:.2f} ms", f"bare {cpu[1]:.2f} ms")
        )
    return rows


def render(results: dict[str, Any]) -> str:
    d = results["details"]
    inproc, http, server = d["inprocess"], d["http_client"], d["server"]
    retrieve = _call_rows("retrieve", inproc["files.retrieve"], http["files.retrieve"], True)
    whoami = _call_rows("whoami", inproc["accounts.whoami"], http["accounts.whoami"], False)
    return "\n".join(
        [
            _row("figure (files.retrieve)", "value", "target", "kit", "baseline"),
            *retrieve[:2],
            _server_row("server_ratio", server["files.retrieve"], ">= 0.9"),
            *_bare_rows(server["files.retrieve"], inproc["files.retrieve"]),
            retrieve[2],
            *_observability_rows(d["observability"]),
            "",
            "also measured (details in results.json):",
            *whoami,
            _server_row("  server (POST files.create)", server["files.create"], ""),
            _row(
                "  server, no sockets (GET)",
                server["wsgi_handler"]["ratio"],
                "",
                f"kit {server['wsgi_handler']['kit_us']['median']:.0f} µs/req",
                f"APIView {server['wsgi_handler']['plain_us']['median']:.0f} µs/req",
            ),
            _row(
                "  no sockets, vs bare (GET)",
                server["wsgi_handler"]["bare_ratio"],
                "",
                f"kit {server['wsgi_handler']['kit_us']['median']:.0f} µs/req",
                f"bare {server['wsgi_handler']['bare_us']['median']:.0f} µs/req",
            ),
            "",
            _targets_line(results["targets_met"]),
        ]
    )


def _observability_rows(observed: dict[str, Any]) -> list[str]:
    local, http = observed["inprocess"], observed["http"]
    return [
        _row(
            "observability (in-process)",
            observed["inprocess_ratio"],
            ">= 0.85",
            f"on {local['on_us']['median']:.0f} µs/call",
            f"off {local['off_us']['median']:.0f} µs/call",
        ),
        _row(
            "observability (HTTP)",
            observed["http_ratio"],
            ">= 0.95",
            f"on {http['on_us']['median']:.0f} µs/call",
            f"off {http['off_us']['median']:.0f} µs/call",
        ),
    ]


def _targets_line(met: dict[str, bool]) -> str:
    missed = [name for name, ok in met.items() if not ok]
    if not missed:
        return f"all {len(met)} targets met"
    return f"TARGET MISSED: {', '.join(missed)} (see bench/README.md, Noise)"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed: run `bash bench/setup.sh` (or `make bench`).", file=sys.stderr)
        return 2
    _stop_on_sigterm()
    started = time.monotonic()
    load_before = [round(x, 2) for x in os.getloadavg()]
    # Before prepare(), which points DATABASE_URL at a temporary SQLite file
    # when it is unset.
    postgres_url = _postgres_server()
    world = prepare()
    try:
        results = compose(measure_all(world, args), world)
        if not args.skip_search:
            results.update(measure_search_and_audit(world))
    finally:
        world.cleanup()
    results["environment"]["load_average_before"] = load_before
    results["environment"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    if not args.skip_events:
        results.update(measure_events_and_locks(postgres_url))
    results["environment"]["seconds"] = round(time.monotonic() - started, 1)
    args.output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print()
    print(render(results))
    if not args.skip_search:
        print()
        print(render_search(results))
    if not args.skip_events:
        print()
        print(render_events(results))
    print(f"\nwritten to {args.output} in {results['environment']['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
