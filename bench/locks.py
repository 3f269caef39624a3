"""Lock acquire + release per second: the kit's Redis lock against redis-py's own.

Both run sequentially on the same Redis, in interleaved repeats (medians).
The kit's lock does one script call to acquire (``SET NX PX`` and the
fencing-token ``INCR``) and one to release; redis-py's ``Lock`` does a
``SET NX PX`` and a release script, so the ratio shows what the fencing
token and the kit's bookkeeping cost::

    .venv/bin/python bench/locks.py                    # REDIS_URL or localhost
    measure("redis://127.0.0.1:6379/0")["lock_ratio"]  # kit rate / raw rate
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from bench.measure import Call, interleave, median  # noqa: E402
from ucloud.locks import DistributedLock  # noqa: E402
from ucloud.locks.redis import RedisLocks  # noqa: E402

TARGET = 0.8  # kit rate / raw rate


def variants(client: redis.Redis, name: str) -> dict[str, Call]:
    # One client (and connection pool) for both: only the lock code differs.
    backend = RedisLocks(client)

    def kit() -> None:
        lock = DistributedLock(f"{name}.kit", ttl=10, backend=backend)
        lock.acquire()
        lock.release()

    def raw() -> None:
        lock = client.lock(f"{name}.raw", timeout=10)
        lock.acquire()
        lock.release()

    return {"kit": kit, "raw": raw}


def measure(redis_url: str, *, repeats: int = 11, sample_seconds: float = 0.2) -> dict[str, Any]:
    """``{"lock_ratio", "kit_per_s", "raw_per_s"}``: medians of interleaved samples."""
    client = redis.Redis.from_url(redis_url)
    name = f"bench.lock.{uuid.uuid4().hex}"
    try:
        samples = interleave(variants(client, name), repeats=repeats, sample_seconds=sample_seconds)
    finally:
        leftovers = client.keys(f"*{name}*")
        if leftovers:
            client.delete(*leftovers)
        client.close()
    kit_per_s = 1 / median(samples["kit"])
    raw_per_s = 1 / median(samples["raw"])
    return {
        "lock_ratio": round(kit_per_s / raw_per_s, 3),
        "kit_per_s": round(kit_per_s),
        "raw_per_s": round(raw_per_s),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    )
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repeats")
    args = parser.parse_args(argv)
    repeats, sample_seconds = (5, 0.1) if args.quick else (11, 0.2)
    result = measure(args.redis_url, repeats=repeats, sample_seconds=sample_seconds)
    print(f"kit DistributedLock  {result['kit_per_s']:>8} acquire+release/s")
    print(f"redis-py Lock        {result['raw_per_s']:>8} acquire+release/s")
    verdict = "ok" if result["lock_ratio"] >= TARGET else "BELOW TARGET"
    print(f"lock_ratio           {result['lock_ratio']:>8}  (target >= {TARGET}: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
