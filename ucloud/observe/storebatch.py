"""Finished spans to a shared span store (Redis), in batches off the serving thread.

Each span becomes a compact tuple of numbers and strings as it ends
(``spanstore.compact_of``), which the garbage collector does not track, and
a thread of the process hands what gathered to the store every
``interval`` seconds. The SDK's ``BatchSpanProcessor`` did the queueing
before: it kept the span objects themselves alive until its next export
(up to a second of a busy worker's spans) and checked its process id on
every span (bench/README.md, "Observability")::

    processor = StoreBatchProcessor(RedisStore(url, 5000), interval=1.0, capacity=16384)
    provider.add_span_processor(processor)
    processor.force_flush()      # now, in the caller's thread (tests, shutdown)
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import threading
import weakref

import redis
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.trace import TraceFlags

from ucloud.observe.spanstore import Compact, SpanStore, compact_of

logger = logging.getLogger("ucloud.observe")


class StoreBatchProcessor(SpanProcessor):
    """Compacts each sampled span as it ends; a thread stores them in batches.

    Past ``capacity`` spans waiting (the store down or slow), the oldest go:
    the store keeps the most recent ones anyway.
    """

    def __init__(self, store: SpanStore, *, interval: float, capacity: int) -> None:
        self.store = store
        self.interval = interval
        self._waiting: collections.deque[Compact] = collections.deque(maxlen=capacity)
        # One export at a time: the thread's and a caller's force_flush.
        self._exporting = threading.Lock()
        self._stop = threading.Event()
        # The event's state as a plain field: on_end reads it for every span.
        self._stopped = False
        self._thread_started = False
        self._failing = False
        # Weakly: a process (a test run) may make many processors. A forked
        # child has none of its parent's threads, so it starts its own.
        me = weakref.WeakMethod(self.shutdown)
        atexit.register(lambda: (shutdown := me()) is not None and shutdown())
        forked = weakref.WeakMethod(self._forked)
        os.register_at_fork(after_in_child=lambda: (reset := forked()) is not None and reset())

    def on_end(self, span: ReadableSpan) -> None:
        # The field behind ReadableSpan.context (the SDK's spans and the
        # kit's alike), and its flags by position: this runs for every span.
        context = span._context
        if self._stopped or context is None or not context[3] & TraceFlags.SAMPLED:
            return
        self._waiting.append(compact_of(span))
        if not self._thread_started:
            self._start_thread()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._export()

    def shutdown(self) -> None:
        if self._stop.is_set():
            return
        self._stopped = True
        self._stop.set()
        self._export()

    def _start_thread(self) -> None:
        with self._exporting:
            if self._thread_started:
                return
            self._thread_started = True
        threading.Thread(target=self._run, name="ucloud-span-store", daemon=True).start()

    def _forked(self) -> None:
        # The parent's lock may have been held by its thread at the fork, and
        # the spans waiting are the parent's to store.
        self._exporting = threading.Lock()
        self._thread_started = False
        self._waiting.clear()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._export()

    def _export(self) -> bool:
        with self._exporting:
            waiting = self._waiting
            taken = [waiting.popleft() for _ in range(len(waiting))]
            if not taken:
                return True
            try:
                self.store.add_compacts(taken)
            except Exception as exc:
                # Whatever fails, the thread goes on: the next batch may fare
                # better (the store back up). A Redis error is said in a line.
                if not self._failing:
                    logger.warning(
                        "Storing %d spans failed (dropped): %s",
                        len(taken),
                        exc,
                        exc_info=not isinstance(exc, redis.RedisError),
                    )
                self._failing = True
                return False
            if self._failing:
                logger.warning("Storing spans works again")
            self._failing = False
            return True
