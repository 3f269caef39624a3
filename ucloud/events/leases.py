"""Partition leases: one consumer of a group works on a partition at a time.

That is what keeps the events of a key in order with several worker
processes: the holder of partition 3 of group ``notifications`` is the only
one reading, retrying and acknowledging it. Leases are Redis keys with a
ttl, renewed by the holder's heartbeat; a consumer that dies stops
renewing, and after the ttl another consumer takes the partition over
(with the entries the dead one left pending). Live consumers announce
themselves, so that each takes its share, ``ceil(partitions / consumers)``::

    leases = PartitionLeases(client, "notifications", "host:42:ab", partitions=16, ttl=10)
    gained, released = leases.rebalance()
    leases.heartbeat()          # from a thread, every ttl / 3
"""

from __future__ import annotations

import math
import random
import threading
import time

import redis

from ucloud.events.broker import PREFIX
from ucloud.locks.redis import RELEASE, RENEW

# Free, or already this consumer's (after an outage it forgot about): take it.
TAKE = """
local holder = redis.call('get', KEYS[1])
if holder == false or holder == ARGV[1] then
    redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return 1
end
return 0
"""


def lease_key(group: str, partition: int) -> str:
    return f"{PREFIX}:lease:{group}:{partition}"


def presence_key(group: str) -> str:
    return f"{PREFIX}:consumers:{group}"


class PartitionLeases:
    def __init__(
        self, client: redis.Redis, group: str, consumer: str, *, partitions: int, ttl: float
    ) -> None:
        self.client = client
        self.group = group
        self.consumer = consumer
        self.partitions = partitions
        self.ttl_ms = max(1, int(ttl * 1000))
        self._renew = client.register_script(RENEW)
        self._release = client.register_script(RELEASE)
        self._take = client.register_script(TAKE)
        self._lock = threading.Lock()
        self._held: set[int] = set()
        # Partitions whose lease the heartbeat found taken or expired.
        self._lost: set[int] = set()

    @property
    def held(self) -> set[int]:
        with self._lock:
            return set(self._held)

    def live_consumers(self) -> int:
        """Consumers of the group that announced themselves within the ttl."""
        now = int(time.time() * 1000)
        pipe = self.client.pipeline(transaction=False)
        pipe.zadd(presence_key(self.group), {self.consumer: now + self.ttl_ms})
        pipe.zremrangebyscore(presence_key(self.group), "-inf", now)
        pipe.zcard(presence_key(self.group))
        return max(1, int(pipe.execute()[-1]))

    def heartbeat(self) -> None:
        """Renew every held lease and the announcement; a lease that could
        not be renewed is reported by ``take_lost``."""
        self.live_consumers()
        held = self.held
        if not held:
            return
        pipe = self.client.pipeline(transaction=False)
        for partition in sorted(held):
            self._renew(
                keys=[lease_key(self.group, partition)],
                args=[self.consumer, self.ttl_ms],
                client=pipe,
            )
        renewed = pipe.execute()
        with self._lock:
            for partition, ok in zip(sorted(held), renewed, strict=True):
                if not ok and partition in self._held:
                    self._held.discard(partition)
                    self._lost.add(partition)

    def take_lost(self) -> set[int]:
        with self._lock:
            lost, self._lost = self._lost, set()
            return lost

    def rebalance(self) -> tuple[list[int], list[int]]:
        """Take free partitions up to this consumer's share, give back those
        above it; the partitions gained and released."""
        target = math.ceil(self.partitions / self.live_consumers())
        held = self.held
        gained: list[int] = []
        released: list[int] = []
        if len(held) < target:
            free = [p for p in range(self.partitions) if p not in held]
            # Random order: consumers starting together do not all race for
            # partition 0 first.
            random.shuffle(free)
            for partition in free:
                if len(held) + len(gained) >= target:
                    break
                key = lease_key(self.group, partition)
                if self._take(keys=[key], args=[self.consumer, self.ttl_ms]):
                    gained.append(partition)
        elif len(held) > target:
            released = sorted(held)[target:]
            self.release(released)
        with self._lock:
            self._held.update(gained)
        return sorted(gained), released

    def release(self, partitions: list[int]) -> None:
        with self._lock:
            self._held.difference_update(partitions)
        for partition in partitions:
            self._release(keys=[lease_key(self.group, partition)], args=[self.consumer])

    def forget_all(self) -> None:
        """Hold nothing, without telling Redis (after an outage it may have
        lost or kept the leases); the next ``rebalance`` takes them again,
        including those Redis still says are this consumer's."""
        with self._lock:
            self._held.clear()
            self._lost.clear()

    def release_all(self) -> None:
        """Give every partition back and leave: the others take over at once."""
        self.release(sorted(self.held))
        self.client.zrem(presence_key(self.group), self.consumer)
