"""The stream consumer: one consumer group's reading loop in one process.

It leases its share of the group's partitions (``leases``), takes over what
a previous holder left pending, reads new entries with ``XREADGROUP``, hands
them to the group's processors (``delivery``) and acknowledges with
``XACK`` only what they finished. A failed event waits ``backoff(attempt)``
with the later events of its partition on an ordered stream (alone on an
unordered one); the other partitions go on::

    consumer = GroupConsumer("notifications", client=broker.connect())
    threading.Thread(target=consumer.run, daemon=True).start()
    consumer.stop.set()          # finish the current batch, release the leases
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass, field

import redis
from django.db import close_old_connections

from ucloud import heartbeat
from ucloud.events import broker
from ucloud.events.broker import Entry
from ucloud.events.delivery import Outcome, backoff, deliver
from ucloud.events.leases import PartitionLeases
from ucloud.events.processors import group_start, streams_of
from ucloud.events.streams import Event, EventStream
from ucloud.settings import ucloud_settings

logger = logging.getLogger("ucloud.events")

# A lane stops reading while this many failed entries wait (unordered streams).
RETRY_CAP = 1000


def consumer_name() -> str:
    """Unique per process start: a restarted process is a new consumer."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class Lane:
    """One partition of one stream, as this consumer holds it."""

    stream: EventStream
    partition: int
    key: str
    # Entries to process, in stream order; on an ordered stream they wait
    # until ``due`` after a failure.
    backlog: list[Entry] = field(default_factory=list)
    due: float = 0.0
    # Unordered streams: failed entries waiting for ``retry_due``.
    retries: list[Entry] = field(default_factory=list)
    retry_due: float = 0.0

    def ready(self, now: float) -> bool:
        return bool(self.backlog and self.due <= now) or bool(
            self.retries and self.retry_due <= now
        )

    def readable(self) -> bool:
        return not self.backlog and len(self.retries) < RETRY_CAP

    def next_due(self, now: float) -> float | None:
        times = [self.due] if self.backlog else []
        times += [self.retry_due] if self.retries else []
        return min(times) if times else None

    def take(self, now: float, size: int) -> list[Entry]:
        taken: list[Entry] = []
        if self.retries and self.retry_due <= now:
            taken, self.retries = self.retries, []
        if self.backlog and self.due <= now:
            taken += self.backlog[:size]
            self.backlog = self.backlog[size:]
        return taken

    def put_back(self, entries: list[Entry], due: float) -> None:
        """Entries taken and not finished, to be tried again at ``due``: on
        an ordered stream ahead of the rest of the backlog, which waits too."""
        if self.stream.ordered:
            self.backlog = entries + self.backlog
            self.due = due
        else:
            self.retries.extend(entries)
            self.retry_due = due


class GroupConsumer:
    def __init__(self, group: str, *, client: redis.Redis, name: str | None = None) -> None:
        self.group = group
        self.client = client
        self.name = name or consumer_name()
        self.streams = streams_of(group)
        self.partitions = int(ucloud_settings.STREAM_PARTITIONS)
        self.batch = int(ucloud_settings.STREAM_BATCH_SIZE)
        self.block = float(ucloud_settings.STREAM_BLOCK)
        ttl = float(ucloud_settings.STREAM_LEASE_TTL)
        self.leases = PartitionLeases(client, group, self.name, partitions=self.partitions, ttl=ttl)
        self.heartbeat_interval = ttl / 3
        self.lanes: dict[str, Lane] = {}
        # Failed attempts per event id, for the events in this consumer's lanes.
        self.attempts: dict[str, int] = {}
        self.stop = threading.Event()
        self._groups_made: set[str] = set()
        self._next_rebalance = 0.0

    # The loop ----------------------------------------------------------

    def run(self) -> None:
        """Consume until ``stop`` is set; Redis or database outages are
        waited out, never fatal."""
        heartbeat = threading.Thread(
            target=self._heartbeat, name=f"ucloud-leases-{self.group}", daemon=True
        )
        heartbeat.start()
        try:
            while not self.stop.is_set():
                self._step_or_recover()
        finally:
            self.stop.set()
            # (Unreachable Redis: the leases expire by themselves.)
            with contextlib.suppress(redis.RedisError):
                self.leases.release_all()

    def _step_or_recover(self) -> None:
        # A live loop is what the worker's liveness probe wants to see.
        heartbeat.beat()
        try:
            self.step()
        except redis.RedisError as exc:
            logger.warning("%s: events Redis unavailable (%s); retrying", self.name, exc)
            # Start over once it answers: partitions, groups (a Redis that
            # restarted without its data lost them) and leases.
            self._drop_all()
            self.stop.wait(1.0)
        except Exception:
            logger.exception("%s: consumer step failed; retrying", self.name)
            self.stop.wait(1.0)

    def _heartbeat(self) -> None:
        while not self.stop.wait(self.heartbeat_interval):
            try:
                self.leases.heartbeat()
            except redis.RedisError:
                logger.warning("%s: could not renew partition leases", self.name)

    def step(self) -> None:
        now = time.monotonic()
        for partition in self.leases.take_lost():
            logger.warning("%s lost partition %d of %s", self.name, partition, self.group)
            self._drop(partition)
        if now >= self._next_rebalance:
            self._rebalance()
            self._next_rebalance = now + min(1.0, self.heartbeat_interval)
        ready = [lane for lane in self.lanes.values() if lane.ready(now)]
        if ready:
            self._process(ready, now)
            return
        self._read_or_wait(now)

    def _rebalance(self) -> None:
        gained, released = self.leases.rebalance()
        for partition in released:
            self._drop(partition)
        for partition in gained:
            self._open(partition)

    def _read_or_wait(self, now: float) -> None:
        waits = [due - now for lane in self.lanes.values() if (due := lane.next_due(now))]
        timeout = max(0.001, min([self.block, self._next_rebalance - now, *waits]))
        readable = [key for key, lane in self.lanes.items() if lane.readable()]
        if not readable:
            self.stop.wait(timeout)
            return
        found = broker.read(
            self.client,
            self.group,
            self.name,
            readable,
            count=self.batch,
            block_ms=max(1, int(timeout * 1000)),
        )
        for key, entries in found.items():
            lane = self.lanes.get(key)
            if lane is not None:
                lane.backlog.extend(entries)
        if not found:
            # Idle: a good moment to drop database connections past their age.
            close_old_connections()

    # Partitions --------------------------------------------------------

    def _open(self, partition: int) -> None:
        """Start on a newly leased partition: make sure the group exists on
        each stream's partition, and take over the entries left pending."""
        for stream in self.streams:
            key = broker.stream_key(stream.name, partition)
            if key not in self._groups_made:
                beginning = group_start(self.group, stream.name) == "beginning"
                broker.ensure_group(self.client, key, self.group, beginning=beginning)
                self._groups_made.add(key)
            claimed = broker.claim_pending(self.client, key, self.group, self.name)
            self.lanes[key] = Lane(stream, partition, key, backlog=claimed)
            if claimed:
                ids = [received.event_id for _, received in claimed]
                self.attempts.update(broker.failures_of(self.client, self.group, ids))

    def _drop(self, partition: int) -> None:
        """Forget a partition: what was read and not acknowledged stays
        pending in Redis for its next holder."""
        for key in [key for key, lane in self.lanes.items() if lane.partition == partition]:
            lane = self.lanes.pop(key)
            for _, received in [*lane.backlog, *lane.retries]:
                self.attempts.pop(received.event_id, None)

    def _drop_all(self) -> None:
        """Forget every partition without asking Redis (which may be down):
        the leases expire, or are taken again on the next rebalance."""
        for partition in {lane.partition for lane in self.lanes.values()}:
            self._drop(partition)
        self.leases.forget_all()
        self._groups_made.clear()
        self._next_rebalance = 0.0

    # Delivery ----------------------------------------------------------

    def _process(self, ready: list[Lane], now: float) -> None:
        by_stream: dict[str, list[Lane]] = {}
        for lane in ready:
            by_stream.setdefault(lane.stream.name, []).append(lane)
        for lanes in by_stream.values():
            taken = {lane.key: lane.take(now, self.batch) for lane in lanes}
            self._deliver(lanes, taken)

    def _deliver(self, lanes: list[Lane], taken: dict[str, list[Entry]]) -> None:
        """One delivery for the entries taken from several partitions of one
        stream (one transaction per batched processor), then per partition:
        acknowledge what is finished, put back what is not."""
        lane_of: dict[str, str] = {}
        unique = []
        for lane in lanes:
            for _, received in taken[lane.key]:
                # The relay may have appended an event twice (it died between
                # XADD and marking its rows): process it once, ack both.
                if received.event_id not in lane_of:
                    lane_of[received.event_id] = lane.key
                    unique.append(received)

        def hold_key(event: Event) -> Hashable:
            return lane_of[event.event_id]

        try:
            outcome = deliver(
                self.group, lanes[0].stream, unique, attempts=self.attempts, hold_key=hold_key
            )
        except Exception:
            # The database failed outside a processor's transaction (the
            # inbox lookup, a dead letter): nothing is acknowledged, every
            # entry is tried again later, no attempt is counted.
            logger.warning("%s: delivery failed; retrying", self.name, exc_info=True)
            self._put_back(lanes, taken, backoff(2))
            return
        done = set(outcome.done)
        delays = self._count_failures(outcome, lane_of)
        finished: dict[str, list[str]] = {}
        waiting: dict[str, list[Entry]] = {}
        forget: list[str] = []
        for lane in lanes:
            finished[lane.key], waiting[lane.key] = [], []
            for entry in taken[lane.key]:
                event_id = entry[1].event_id
                if event_id not in done:
                    waiting[lane.key].append(entry)
                    continue
                finished[lane.key].append(entry[0])
                if self.attempts.pop(event_id, None) is not None:
                    forget.append(event_id)
        broker.ack(self.client, self.group, finished, forget)
        now = time.monotonic()
        for lane in lanes:
            if waiting[lane.key]:
                lane.put_back(waiting[lane.key], now + max(delays.get(lane.key, 0.0), 0.0))

    def _put_back(self, lanes: list[Lane], taken: dict[str, list[Entry]], delay: float) -> None:
        due = time.monotonic() + delay
        for lane in lanes:
            lane.put_back(taken[lane.key], due)

    def _count_failures(self, outcome: Outcome, lane_of: dict[str, str]) -> dict[str, float]:
        """Record each failure (transient ones are not attempts); the wait
        before the next try, per lane key."""
        delays: dict[str, float] = {}
        for failure in outcome.failed:
            event_id = failure.event.event_id
            if failure.transient:
                delay = backoff(2)
            else:
                failed = broker.count_failure(self.client, self.group, event_id)
                self.attempts[event_id] = failed
                delay = backoff(failed + 1)
            key = lane_of[event_id]
            delays[key] = max(delays.get(key, 0.0), delay)
        return delays
