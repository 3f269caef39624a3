"""The background relay: relays after commit without holding the request.

With a broker, a producing request only writes its outbox rows; the commit
wakes this per-process thread, which relays everything pending. Kicks that
arrive while it works coalesce into one more pass. In eager mode it runs
the retries of failed events, later and off the request. Rows a dying
process leaves behind are picked up by the sweep (or the next kick)::

    background_relay.kick("default")            # from the after-commit hook
    background_relay.kick_later("default", 2.0) # a retry, in two seconds
    background_relay.flush(timeout=5)           # wait until nothing is pending
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable

from django.db import close_old_connections, connections

logger = logging.getLogger("ucloud.events")


class BackgroundRelay:
    def __init__(self, relay: Callable[[str], None]) -> None:
        self._relay = relay
        self._cond = threading.Condition()
        self._pending: set[str] = set()
        self._busy = False
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._timers: dict[str, tuple[threading.Timer, float]] = {}

    def kick(self, alias: str) -> None:
        with self._cond:
            self._ensure_thread()
            self._pending.add(alias)
            self._cond.notify()

    def kick_later(self, alias: str, delay: float) -> None:
        """``kick(alias)`` after ``delay`` seconds; one timer per alias, the
        earliest asked for."""
        fire_at = time.monotonic() + delay
        with self._cond:
            current = self._timers.get(alias)
            if current is not None and current[0].is_alive():
                if current[1] <= fire_at:
                    return
                current[0].cancel()
            timer = threading.Timer(delay, self.kick, args=(alias,))
            timer.daemon = True
            self._timers[alias] = (timer, fire_at)
            timer.start()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every kick so far has been relayed; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        if self._pid != os.getpid():
            # A forked child does not inherit the parent's thread or its work.
            self._pending.clear()
            self._timers.clear()
            self._busy = False
            if self._pid == 0:
                atexit.register(self.flush, 5.0)
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="ucloud-relay", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._pending))
                aliases = sorted(self._pending)
                self._pending.clear()
                self._busy = True
            try:
                # This thread's own connections: drop broken or aged ones.
                close_old_connections()
                for alias in aliases:
                    self._relay(alias)
            except Exception:
                logger.warning("Background relay failed; the sweep will retry", exc_info=True)
            finally:
                # Idle between passes: hold no connection, so that nothing
                # keeps a database busy (a test database's teardown, a
                # server's connection limit) on this thread's behalf.
                for connection in connections.all(initialized_only=True):
                    connection.close()
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
