"""A heartbeat file: a process touches it while its work loop runs, a probe
checks its age. Standard library only, so the probe starts in milliseconds::

    beat()              # from the work loop; cheap to call often
    seconds_since_beat("/tmp/ucloud-heartbeat")   # None: never beaten

``beat()`` touches the file named by ``UCLOUD_HEARTBEAT_FILE`` (a variable of
the process, like its port: the generated worker and beat containers set it)
and does nothing when it is unset. The probe is
``python -m ucloud.heartbeat FILE --max-age SECONDS`` (exit 0 when fresh, 1
when stale or missing): the liveness probe of worker and beat pods and their
compose health check. Celery processes beat through ``ucloud.heartbeat.celery``;
any other long-running loop calls ``beat()``.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

FILE_VARIABLE = "UCLOUD_HEARTBEAT_FILE"
# Touching the file more often than this tells a probe nothing new.
MIN_INTERVAL = 1.0


def touch(path: str | os.PathLike[str]) -> None:
    """Set the file's modification time to now, creating it if needed."""
    Path(path).touch()


def seconds_since_beat(path: str | os.PathLike[str]) -> float | None:
    """Seconds since the last beat, or None when there was none."""
    try:
        modified = Path(path).stat().st_mtime
    except FileNotFoundError:
        return None
    return max(0.0, time.time() - modified)


class Pulse:
    """Beats one file at most every ``min_interval`` seconds, from any thread."""

    def __init__(self, path: str | os.PathLike[str], *, min_interval: float = MIN_INTERVAL) -> None:
        self.path = Path(path)
        self.min_interval = min_interval
        self._last = float("-inf")
        self._lock = threading.Lock()

    def beat(self) -> bool:
        """Touch the file unless it was touched moments ago; whether it was."""
        now = time.monotonic()
        with self._lock:
            if now - self._last < self.min_interval:
                return False
            self._last = now
        touch(self.path)
        return True


_pulses: dict[str, Pulse] = {}
_pulses_lock = threading.Lock()


def beat() -> bool:
    """Beat ``$UCLOUD_HEARTBEAT_FILE`` (throttled); False when unset or throttled."""
    path = os.environ.get(FILE_VARIABLE)
    if not path:
        return False
    with _pulses_lock:
        pulse = _pulses.setdefault(path, Pulse(path))
    return pulse.beat()
