"""Snapshots of the call totals, for the admin's "last 5 minutes".

Prometheus counters only grow; a window is today's totals minus those of
about ``METRICS_WINDOW`` seconds ago. Every ``METRICS_SNAPSHOT_INTERVAL``
seconds a thread of a serving process records the unit's totals: in a file
beside the multiprocess metrics (one per unit; the processes take turns
under a file lock), or in memory for a single process. Snapshots older than
twice the window are dropped::

    snapshots.ensure_running()               # by the first call this process serves
    base, seconds = snapshots.base(now=time.time())
    rows = call_rows(current_totals(), base, seconds)
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ucloud.observe import metrics
from ucloud.observe.stats import CallKey, CallTotals, current_totals
from ucloud.settings import ucloud_settings

FILE_NAME = "ucloud-call-snapshots.json"
Snapshot = tuple[float, dict[CallKey, CallTotals]]


def _encode(snapshot: Snapshot) -> dict[str, Any]:
    at, totals = snapshot
    return {"at": at, "calls": [[list(key), value.as_json()] for key, value in totals.items()]}


def _decode(data: dict[str, Any]) -> Snapshot:
    calls: dict[CallKey, CallTotals] = {
        (str(key[0]), str(key[1]), str(key[2]), str(key[3]), str(key[4])): CallTotals.from_json(
            value
        )
        for key, value in data["calls"]
    }
    return float(data["at"]), calls


class Snapshots:
    """The snapshot ring of this unit (file) or process (memory)."""

    def __init__(self) -> None:
        self._memory: list[Snapshot] = []
        # When this process began keeping snapshots: with no snapshot older
        # than the window, everything counted since then is in the window.
        self.started = time.time()
        self._lock = threading.Lock()
        self._thread_pid = 0

    # Storage ---------------------------------------------------------------

    def _path(self) -> Path | None:
        directory = metrics.multiprocess_dir()
        return None if directory is None else Path(directory) / FILE_NAME

    @contextlib.contextmanager
    def _ring(self) -> Iterator[list[Snapshot]]:
        """The ring, locked; changes to the list are saved."""
        path = self._path()
        if path is None:
            with self._lock:
                yield self._memory
            return
        with path.open("a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            text = handle.read()
            try:
                ring = [_decode(item) for item in json.loads(text)] if text else []
            except (ValueError, KeyError, TypeError):
                ring = []  # a torn or foreign file: start again
            before = list(ring)
            yield ring
            if ring != before:
                handle.seek(0)
                handle.truncate()
                handle.write(json.dumps([_encode(item) for item in ring]))

    # Taking and reading ------------------------------------------------------

    def take(self, *, now: float | None = None) -> bool:
        """Record the totals unless a snapshot is younger than the interval."""
        now = time.time() if now is None else now
        interval = float(ucloud_settings.METRICS_SNAPSHOT_INTERVAL)
        keep = 2 * float(ucloud_settings.METRICS_WINDOW)
        with self._ring() as ring:
            if ring and now - ring[-1][0] < interval:
                return False
            ring.append((now, current_totals()))
            ring[:] = [item for item in ring if now - item[0] <= keep]
        return True

    def base(self, *, now: float | None = None) -> tuple[dict[CallKey, CallTotals], float]:
        """The totals to subtract for the window, and the window's length in
        seconds: the newest snapshot at least a window old; else, when the
        unit is younger than a window, nothing (all it counted is recent);
        else the oldest snapshot there is (a shorter window)."""
        now = time.time() if now is None else now
        span = float(ucloud_settings.METRICS_WINDOW)
        with self._ring() as ring:
            snapshots = list(ring)
        old_enough = [item for item in snapshots if now - item[0] >= span]
        if old_enough:
            return old_enough[-1][1], now - old_enough[-1][0]
        first = snapshots[0][0] if snapshots else self.started
        if now - min(first, self.started) < span:
            return {}, max(now - min(first, self.started), 1e-6)
        if snapshots:
            return snapshots[0][1], now - snapshots[0][0]
        return {}, span

    def clear(self) -> None:
        with self._ring() as ring:
            ring.clear()
        self.started = time.time()

    # The thread ----------------------------------------------------------------

    def ensure_running(self) -> None:
        """Start this process's snapshot thread once (again after a fork)."""
        if self._thread_pid == os.getpid():
            return
        with self._lock:
            if self._thread_pid == os.getpid():
                return
            self._thread_pid = os.getpid()
            thread = threading.Thread(target=self._run, name="ucloud-call-snapshots", daemon=True)
            thread.start()

    def _run(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # a full disk must not kill the process
                self.take()
            time.sleep(float(ucloud_settings.METRICS_SNAPSHOT_INTERVAL))


snapshots = Snapshots()
