"""The cost of the nginx gateway: the same call through nginx and straight to its unit.

Deploys config/topology.toml apart on this machine (each unit's gunicorn on
its own PostgreSQL database, nginx generated from the topology in front;
see ucloud/testing/apart.py), then loads ``GET /api/files/retrieve?id=N``
with ``wrk`` on loopback, once at the gateway and once at the files unit,
in interleaved turns::

    .venv/bin/python bench/gateway.py             # about 60 s; prints JSON
    .venv/bin/python bench/gateway.py --quick

    from bench.gateway import measure
    figures = measure()   # {"gateway_ratio": 0.93, "gateway_p50_added_ms": 0.4, ...}

``gateway_ratio`` is the median of the paired ratios of req/s (gateway /
direct) under load (``wrk -t1 -c8``); ``gateway_p50_added_ms`` is the median
of the paired differences of wrk's p50 latency (gateway - direct) with one
connection, i.e. what the extra hop adds to a request that does not queue.
The p50s under load are in ``details`` too.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from bench.load import Endpoint, WrkSettings, run_wrk  # noqa: E402
from bench.measure import median, paired_ratio  # noqa: E402

TARGET = ">= 0.9"
THROUGHPUT = WrkSettings(threads=1, connections=8, seconds=1)
LATENCY = WrkSettings(threads=1, connections=1, seconds=2)
ADMIN_PASSWORD = "bench-admin-password-1"


def _setup_django() -> None:
    """The project's settings in this process (service namespaces, HTTP helpers)."""
    import django
    from django.apps import apps

    if not apps.ready:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        django.setup()


def _default_server() -> str:
    from ucloud.deploy.database_server import is_postgres
    from ucloud.deploy.local import DEFAULTS

    configured = os.environ.get("DATABASE_URL", "")
    return configured if configured and is_postgres(configured) else DEFAULTS["DATABASE_URL"]


def _answer(response: tuple[int, Any]) -> Any:
    status, body = response
    if status != 200:
        raise RuntimeError(f"seeding the benchmark failed: {status} {body!r}")
    return body


def _seed(gateway_url: str) -> tuple[str, int]:
    """A user with a file, made through the gateway; the user's token and the file id."""
    from ucloud.testing import HttpApi

    def login(username: str, password: str) -> str:
        body = {"username": username, "password": password}
        return str(_answer(api.request("POST", "/api/accounts/login", json=body))["access_token"])

    with HttpApi(gateway_url) as api:
        admin = login("admin", ADMIN_PASSWORD)
        user = {"username": "bench", "password": "bench-password-1", "role": "USER"}
        _answer(api.request("POST", "/api/accounts/users", json=user, token=admin))
        token = login("bench", "bench-password-1")
        body = {"path": "/bench/retrieved.txt", "size": 42}
        file = _answer(api.request("POST", "/api/files", json=body, token=token))
    return token, int(file["id"])


def _interleaved(
    urls: dict[str, str], token: str, endpoint: Endpoint, settings: WrkSettings, repeats: int
) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in urls}
    names = list(urls)
    for repeat in range(repeats):
        # Alternate who goes first, so that drift hits both alike.
        for name in names if repeat % 2 == 0 else reversed(names):
            runs[name].append(run_wrk(urls[name], token, endpoint, settings))
    return runs


def _p50s_ms(runs: list[dict[str, Any]]) -> list[float]:
    return [run["latency_p50_us"] / 1e3 for run in runs]


def compare(
    gateway_url: str, direct_url: str, token: str, file_id: int, *, repeats: int
) -> dict[str, Any]:
    """Interleaved wrk runs at the gateway and at the unit: the figures."""
    endpoint = Endpoint("GET", f"/api/files/retrieve?id={file_id}")
    urls = {"gateway": gateway_url, "direct": direct_url}
    warmup = WrkSettings(THROUGHPUT.threads, THROUGHPUT.connections, 2)
    for url in urls.values():
        run_wrk(url, token, endpoint, warmup)
    loaded = _interleaved(urls, token, endpoint, THROUGHPUT, repeats)
    single = _interleaved(urls, token, endpoint, LATENCY, repeats)
    rates = {name: [run["requests_per_s"] for run in runs] for name, runs in loaded.items()}
    added = [
        g - d for g, d in zip(_p50s_ms(single["gateway"]), _p50s_ms(single["direct"]), strict=True)
    ]
    loaded_added = [
        g - d for g, d in zip(_p50s_ms(loaded["gateway"]), _p50s_ms(loaded["direct"]), strict=True)
    ]
    return {
        "gateway_ratio": paired_ratio(rates["gateway"], rates["direct"]),
        "gateway_p50_added_ms": round(median(added), 3),
        "target": {"gateway_ratio": TARGET},
        "endpoint": f"{endpoint.method} {endpoint.path}",
        "throughput_wrk": THROUGHPUT.describe(),
        "latency_wrk": LATENCY.describe(),
        "repeats": repeats,
        "ratio_of_medians": round(median(rates["gateway"]) / median(rates["direct"]), 3),
        "gateway_requests_per_s": round(median(rates["gateway"]), 1),
        "direct_requests_per_s": round(median(rates["direct"]), 1),
        "gateway_samples": [round(rate, 1) for rate in rates["gateway"]],
        "direct_samples": [round(rate, 1) for rate in rates["direct"]],
        "gateway_p50_ms_one_connection": round(median(_p50s_ms(single["gateway"])), 3),
        "direct_p50_ms_one_connection": round(median(_p50s_ms(single["direct"])), 3),
        "p50_added_ms_samples": [round(value, 3) for value in added],
        "gateway_p50_ms_loaded": round(median(_p50s_ms(loaded["gateway"])), 3),
        "direct_p50_ms_loaded": round(median(_p50s_ms(loaded["direct"])), 3),
        "p50_added_ms_loaded": round(median(loaded_added), 3),
    }


def measure(
    server_url: str | None = None, *, repeats: int = 10, keep_run_dir: bool = False
) -> dict[str, Any]:
    """Deploy apart, seed a file, compare gateway and direct; always cleans up.

    ``server_url``: the PostgreSQL server for the units' databases (default:
    ``DATABASE_URL`` when it is PostgreSQL, else postgres@127.0.0.1:5432).
    Needs nginx, redis-server (the units' private broker) and wrk.
    """
    _setup_django()
    from ucloud.testing import Credentials
    from ucloud.testing.apart import ApartDeployment, free_topology
    from ucloud.testing.private_redis import PrivateRedis

    for tool in ("wrk", "redis-server"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not installed (bench/setup.sh, apt-get install {tool})")
    run_dir = Path(tempfile.mkdtemp(prefix="ucloud-bench-gateway-"))
    redis = PrivateRedis(run_dir)
    redis.start()
    deployment = ApartDeployment(
        free_topology(ROOT / "config" / "topology.toml", suffix=secrets.token_hex(4)),
        run_dir,
        server_url=server_url or _default_server(),
        redis_url=redis.url,
        admin=Credentials("admin", ADMIN_PASSWORD),
        secret_key=secrets.token_urlsafe(48),
    )
    try:
        deployment.prepare()
        # Web processes and nginx only: the workers would only add noise.
        deployment.start(kinds=("web", "gateway"))
        deployment.wait_ready()
        token, file_id = _seed(deployment.gateway_url)
        figures = compare(
            deployment.gateway_url, deployment.unit_url("files"), token, file_id, repeats=repeats
        )
        unit = deployment.topology.unit("files")
        figures["files_unit"] = {"replicas": unit.replicas, "gunicorn": "2 workers x 4 threads"}
        return figures
    finally:
        deployment.stop()
        deployment.drop_databases()
        redis.stop()
        if not keep_run_dir:
            shutil.rmtree(run_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="4 repeats instead of 10")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--database-server", help="PostgreSQL URL (default: DATABASE_URL)")
    args = parser.parse_args(argv)
    figures = measure(args.database_server, repeats=4 if args.quick else args.repeats)
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
