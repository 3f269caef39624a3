"""The raw Redis Streams baseline of the events benchmark.

Pipelined ``XADD`` of JSON payloads by one producer, ``XREADGROUP`` +
``XACK`` by consumer processes of one group; events per second from the
first ``XADD`` until every event is acknowledged::

    measure("redis://127.0.0.1:6379/9", events=50_000)["streams_per_s"]
"""

from __future__ import annotations

import json
import multiprocessing
import time
import uuid
from multiprocessing.synchronize import Event as StopFlag
from typing import Any, cast

import redis

GROUP = "bench"
PIPELINE = 1000  # XADDs per round trip, like the kit's 1,000-event transactions
BATCH = 500  # entries per XREADGROUP, like STREAM_BATCH_SIZE
TIMEOUT = 120.0


def _payload(number: int) -> dict[str, Any]:
    # The same event as the kit's bench stream carries (bench.events_app.api).
    return {"type": "created", "item_id": number, "owner": "bench", "path": f"/bench/{number}.txt"}


def _consume(url: str, stream: str, done_key: str, name: str, stop: StopFlag) -> None:
    """One consumer process: read a batch, decode it, ack it, count it."""
    client = redis.Redis.from_url(url)
    try:
        while not stop.is_set():
            answer: Any = client.xreadgroup(GROUP, name, {stream: ">"}, count=BATCH, block=100)
            if not answer:
                continue
            entries = cast(list[tuple[bytes, dict[bytes, bytes]]], answer[0][1])
            ids: list[bytes] = []
            for entry_id, fields in entries:
                json.loads(fields[b"event"])  # what a processor would be handed
                ids.append(entry_id)
            pipe = client.pipeline(transaction=False)
            pipe.xack(stream, GROUP, *ids)
            pipe.incrby(done_key, len(ids))
            pipe.execute()
    finally:
        client.close()


def _produce(client: redis.Redis, stream: str, first: int, count: int) -> None:
    for start in range(first, first + count, PIPELINE):
        pipe = client.pipeline(transaction=False)
        for number in range(start, min(start + PIPELINE, first + count)):
            # The entry id Redis assigns serves as the event id.
            pipe.xadd(stream, {"event": json.dumps(_payload(number))})
        pipe.execute()


def _wait_for(client: redis.Redis, done_key: str, total: int) -> None:
    deadline = time.monotonic() + TIMEOUT
    while int(client.get(done_key) or 0) < total:
        if time.monotonic() > deadline:
            raise RuntimeError(f"Redis Streams consumers did not ack {total} events in time")
        time.sleep(0.002)


def measure(
    redis_url: str, *, events: int = 50_000, consumers: int = 2, warmup: int = 2_000
) -> dict[str, Any]:
    """``{"streams_per_s", "events", "consumers", "seconds"}`` for one timed run."""
    client = redis.Redis.from_url(redis_url)
    stream = f"bench:events:{uuid.uuid4().hex}"
    done_key = f"{stream}:done"
    client.xgroup_create(stream, GROUP, id="0", mkstream=True)
    context = multiprocessing.get_context("fork")
    stop = context.Event()
    workers = [
        context.Process(target=_consume, args=(redis_url, stream, done_key, f"c{n}", stop))
        for n in range(consumers)
    ]
    for worker in workers:
        worker.start()
    try:
        _produce(client, stream, 0, warmup)
        _wait_for(client, done_key, warmup)
        started = time.perf_counter()
        _produce(client, stream, warmup, events)
        _wait_for(client, done_key, warmup + events)
        seconds = time.perf_counter() - started
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=5)
            if worker.is_alive():
                worker.kill()
                worker.join()
        client.delete(stream, done_key)
        client.close()
    return {
        "streams_per_s": round(events / seconds),
        "events": events,
        "consumers": consumers,
        "seconds": round(seconds, 3),
    }
