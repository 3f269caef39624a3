"""Server throughput of a kit endpoint against plain DRF ``APIView``s, by wrk.

Every endpoint is served by the same gunicorn processes and loaded with the
same wrk settings and script (``bench/wrk.lua``: method, path, bearer token,
optional JSON body with a per-request counter), in turns. ``ratio`` is the
kit against the ``plain`` baseline; ``bare_ratio`` against the ``bare`` view
when there is one (``bench/bare_views.py``)::

    endpoints = retrieve_endpoints(file_id)
    result = compare(server, token, endpoints, settings=WrkSettings(), repeats=24)
    result["ratio"], result["bare_ratio"], result["kit_cpu_per_request_ms"]
"""

from __future__ import annotations

import json
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.measure import median, paired_ratio
from bench.server import Server

SCRIPT = Path(__file__).resolve().parent / "wrk.lua"
MARKER = "WRK_JSON "
STALLED_RUN_RETRIES = 2


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    body: str = ""


@dataclass(frozen=True)
class WrkSettings:
    threads: int = 1
    connections: int = 8
    # Short runs, many of them: see README.md, "Noise".
    seconds: int = 1

    def describe(self) -> str:
        return f"wrk -t{self.threads} -c{self.connections} -d{self.seconds}s -s bench/wrk.lua"


def retrieve_endpoints(file_id: int) -> dict[str, Endpoint]:
    return {
        "kit": Endpoint("GET", f"/api/files/retrieve?id={file_id}"),
        "plain": Endpoint("GET", f"/bench/plain/files/retrieve?id={file_id}"),
        "bare": Endpoint("GET", f"/bench/bare/files/retrieve?id={file_id}"),
    }


def create_endpoints() -> dict[str, Endpoint]:
    # "{run}" becomes a fresh prefix per wrk run and "%d" a counter per
    # request (wrk.lua): every request creates a new file.
    body = json.dumps({"path": "/wrk/{run}/%d.txt", "size": 1})
    return {
        "kit": Endpoint("POST", "/api/files", body),
        "plain": Endpoint("POST", "/bench/plain/files", body),
    }


def run_wrk(base_url: str, token: str, endpoint: Endpoint, settings: WrkSettings) -> dict[str, Any]:
    """One wrk run; its summary with ``requests_per_s``. Fails on any error."""
    command = [
        "wrk",
        f"-t{settings.threads}",
        f"-c{settings.connections}",
        f"-d{settings.seconds}s",
        "-s",
        str(SCRIPT),
        base_url,
        "--",
        endpoint.method,
        endpoint.path,
        token,
        endpoint.body.replace("{run}", uuid.uuid4().hex),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=settings.seconds + 30
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    if not lines:
        raise RuntimeError(f"wrk printed no summary:\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(lines[-1][len(MARKER) :])
    errors = sum(result[key] for key in result if key.endswith("errors") or key == "timeouts")
    if errors:
        # A run with failed requests measures failures, not the endpoint.
        raise RuntimeError(f"wrk saw {errors} failed requests on {endpoint.path}: {result}")
    result["requests_per_s"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def _measured_run(
    server: Server, token: str, endpoint: Endpoint, settings: WrkSettings
) -> dict[str, Any]:
    """A wrk run, plus the server's CPU time per request when /proc tells it.

    A run in which no request finished measured a stall of the shared
    machine (a second-long pause of the database's disk, say), not the
    endpoint, and would divide a ratio by zero: it is run again, twice at
    most."""
    for _ in range(STALLED_RUN_RETRIES + 1):
        cpu_before = server.cpu_seconds()
        result = run_wrk(server.base_url, token, endpoint, settings)
        cpu_after = server.cpu_seconds()
        if result["requests"]:
            break
    else:
        raise RuntimeError(f"no request to {endpoint.path} finished in {settings.seconds} s")
    if cpu_before is not None and cpu_after is not None and cpu_after > cpu_before:
        result["requests_per_cpu_s"] = result["requests"] / (cpu_after - cpu_before)
    return result


def _cpu_figures(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Requests per server CPU second (and its inverse, CPU ms per request):
    insensitive to other load on the machine."""
    if not all("requests_per_cpu_s" in r for rs in runs.values() for r in rs):
        return {}
    per_cpu = {name: [float(r["requests_per_cpu_s"]) for r in rs] for name, rs in runs.items()}
    figures: dict[str, Any] = {"cpu_ratio": paired_ratio(per_cpu["kit"], per_cpu["plain"])}
    if "bare" in per_cpu:
        figures["bare_cpu_ratio"] = paired_ratio(per_cpu["kit"], per_cpu["bare"])
    for name, rates in per_cpu.items():
        figures[f"{name}_requests_per_cpu_s"] = round(median(rates), 1)
        figures[f"{name}_cpu_per_request_ms"] = round(1000 / median(rates), 3)
    return figures


def compare(
    server: Server,
    token: str,
    endpoints: dict[str, Endpoint],
    *,
    settings: WrkSettings,
    repeats: int,
    warmup_seconds: int = 2,
) -> dict[str, Any]:
    """Interleaved wrk runs of the endpoints; median ratios of req/s to the kit's."""
    warmup = WrkSettings(settings.threads, settings.connections, warmup_seconds)
    for endpoint in endpoints.values():
        run_wrk(server.base_url, token, endpoint, warmup)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in endpoints}
    names = list(endpoints)
    for repeat in range(repeats):
        # Each endpoint goes first as often as last.
        for name in names if repeat % 2 == 0 else reversed(names):
            runs[name].append(_measured_run(server, token, endpoints[name], settings))
    rates = {name: [r["requests_per_s"] for r in rs] for name, rs in runs.items()}
    result: dict[str, Any] = {
        "ratio": paired_ratio(rates["kit"], rates["plain"]),
        "ratio_of_medians": round(median(rates["kit"]) / median(rates["plain"]), 3),
    }
    if "bare" in rates:
        result["bare_ratio"] = paired_ratio(rates["kit"], rates["bare"])
    for name in names:
        result[f"{name}_requests_per_s"] = round(median(rates[name]), 1)
    for name in names:
        result[f"{name}_samples"] = [round(rate, 1) for rate in rates[name]]
    result.update(_cpu_figures(runs))
    for name in names:
        result[f"{name}_latency_p50_ms"] = median([r["latency_p50_us"] / 1e3 for r in runs[name]])
    result["endpoints"] = {name: f"{e.method} {e.path}" for name, e in endpoints.items()}
    return result
