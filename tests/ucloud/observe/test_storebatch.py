"""Spans for a shared (Redis) store: compacted as they end, so nothing of the
request stays alive, and stored in batches by a thread of the process."""

from __future__ import annotations

import gc
import logging
import time
import uuid
import weakref
from collections.abc import Sequence

import pytest
import redis
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.trace import SpanContext, SpanKind, TraceFlags

from ucloud.observe import spans, spanstore
from ucloud.observe.storebatch import StoreBatchProcessor


@pytest.fixture
def provider() -> TracerProvider:
    return TracerProvider()


def _ended(provider: TracerProvider, processor: StoreBatchProcessor, name: str) -> int:
    """End a span named ``name`` through ``processor``; its span id."""
    span = spans.start_span(provider, name, SpanKind.SERVER, {"ucloud.transport": "local"})
    span.end()
    assert isinstance(span, ReadableSpan)  # a KitSpan: its own finished form
    processor.on_end(span)
    return span.get_span_context().span_id


def _names(store: spanstore.SpanStore) -> list[str]:
    return [record["name"] for record in store.records()]


def test_spans_wait_for_the_next_batch_then_reach_the_store(provider):
    store = spanstore.MemoryStore(10)
    processor = StoreBatchProcessor(store, interval=3600, capacity=100)
    try:
        first = _ended(provider, processor, "files.share")
        _ended(provider, processor, "accounts.lookup")
        assert store.records() == []

        assert processor.force_flush()

        assert _names(store) == ["accounts.lookup", "files.share"]  # newest first
        assert store.records()[1]["span_id"] == f"{first:016x}"
        assert store.records()[1]["attributes"] == {"ucloud.transport": "local"}
    finally:
        processor.shutdown()


def test_the_thread_stores_them_without_being_asked(provider):
    store = spanstore.MemoryStore(10)
    processor = StoreBatchProcessor(store, interval=0.05, capacity=100)
    try:
        _ended(provider, processor, "files.share")
        deadline = time.monotonic() + 10
        while not store.records() and time.monotonic() < deadline:
            time.sleep(0.02)

        assert _names(store) == ["files.share"]
    finally:
        processor.shutdown()


def test_an_ended_span_is_not_kept_alive_until_the_batch(provider):
    processor = StoreBatchProcessor(spanstore.MemoryStore(10), interval=3600, capacity=100)
    span = spans.start_span(provider, "files.share", SpanKind.SERVER, {})
    span.end()
    processor.on_end(span)
    gone = weakref.ref(span)
    del span
    gc.collect()
    try:
        assert gone() is None
    finally:
        processor.shutdown()


def test_spans_recorded_but_not_sampled_are_not_stored():
    store = spanstore.MemoryStore(10)
    processor = StoreBatchProcessor(store, interval=3600, capacity=100)
    # What a sampler answering RECORD_ONLY hands the processors.
    recorded = ReadableSpan(name="recorded only", context=SpanContext(1, 2, False, TraceFlags(0)))
    processor.on_end(recorded)

    processor.shutdown()

    assert store.records() == []


def test_past_capacity_the_oldest_waiting_spans_go(provider):
    store = spanstore.MemoryStore(10)
    processor = StoreBatchProcessor(store, interval=3600, capacity=3)
    for name in "abcde":
        _ended(provider, processor, name)

    processor.shutdown()

    assert _names(store) == ["e", "d", "c"]


def test_shutdown_stores_what_waits_and_ends_the_intake(provider):
    store = spanstore.MemoryStore(10)
    processor = StoreBatchProcessor(store, interval=3600, capacity=100)
    _ended(provider, processor, "before")

    processor.shutdown()
    _ended(provider, processor, "after")
    processor.force_flush()

    assert _names(store) == ["before"]


class _Failing(spanstore.MemoryStore):
    """A store raising ``error`` until ``failing`` is unset."""

    def __init__(self, error: Exception) -> None:
        super().__init__(10)
        self.error = error
        self.failing = True

    def add_compacts(self, compacts: Sequence[spanstore.Compact]) -> None:
        if self.failing:
            raise self.error
        super().add_compacts(compacts)


def test_a_store_that_fails_drops_the_batch_and_says_so_once(provider, caplog):
    store = _Failing(redis.ConnectionError("Connection refused"))
    processor = StoreBatchProcessor(store, interval=3600, capacity=100)
    caplog.set_level(logging.WARNING, logger="ucloud.observe")
    try:
        for name in ("lost", "lost too"):
            _ended(provider, processor, name)
            assert processor.force_flush() is False
        store.failing = False
        _ended(provider, processor, "kept")
        assert processor.force_flush() is True
    finally:
        processor.shutdown()

    assert _names(store) == ["kept"]
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "Storing 1 spans failed (dropped): Connection refused",
        "Storing spans works again",
    ]


def test_an_unexpected_failure_of_the_store_does_not_stop_the_thread(provider, caplog):
    store = _Failing(TypeError("cannot encode"))
    processor = StoreBatchProcessor(store, interval=0.02, capacity=100)
    caplog.set_level(logging.WARNING, logger="ucloud.observe")
    try:
        _ended(provider, processor, "first")
        deadline = time.monotonic() + 10
        while not caplog.records and time.monotonic() < deadline:
            time.sleep(0.02)
        store.failing = False
        _ended(provider, processor, "second")
        while not store.records() and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        processor.shutdown()

    assert _names(store) == ["second"]
    assert caplog.records[0].exc_info is not None  # a traceback for the unexpected


def test_batches_reach_a_redis_store_shared_by_processes(provider, redis_url):
    store = spanstore.RedisStore(redis_url, 100, key=f"ucloud:test:spans:{uuid.uuid4().hex}")
    processor = StoreBatchProcessor(store, interval=3600, capacity=100)
    try:
        span_id = _ended(provider, processor, "files.share")
        processor.force_flush()

        other_process = spanstore.RedisStore(redis_url, 100, key=store.key)
        (record,) = other_process.records()
        assert record["name"] == "files.share"
        assert record["span_id"] == f"{span_id:016x}"
    finally:
        processor.shutdown()
        store.clear()


def test_a_forked_child_stores_its_spans_with_a_thread_of_its_own(provider, tmp_path):
    import multiprocessing

    store_file = tmp_path / "names"
    processor = StoreBatchProcessor(_FileStore(store_file), interval=0.05, capacity=100)
    try:
        _ended(provider, processor, "parent")  # the parent's thread starts
        context = multiprocessing.get_context("fork")
        child = context.Process(target=_end_one_and_wait, args=(provider, processor, store_file))
        child.start()
        child.join(20)
        assert child.exitcode == 0
    finally:
        processor.shutdown()

    assert "child" in store_file.read_text().split()


class _FileStore(spanstore.MemoryStore):
    """Names of stored spans appended to a file: what a child stores shows."""

    def __init__(self, path) -> None:
        super().__init__(10)
        self.path = path

    def add_compacts(self, compacts: Sequence[spanstore.Compact]) -> None:
        with open(self.path, "a") as names:
            names.writelines(f"{compact[3]}\n" for compact in compacts)


def test_a_forked_child_leaves_the_parents_waiting_spans_to_the_parent(provider, tmp_path):
    import multiprocessing

    store_file = tmp_path / "names"
    processor = StoreBatchProcessor(_FileStore(store_file), interval=3600, capacity=100)
    try:
        _ended(provider, processor, "parent")  # waits for the parent's next batch
        child = multiprocessing.get_context("fork").Process(target=processor.force_flush)
        child.start()
        child.join(20)
        assert child.exitcode == 0
        assert not store_file.exists()  # the child stored nothing of the parent's
    finally:
        processor.shutdown()

    assert store_file.read_text().split() == ["parent"]


def _end_one_and_wait(provider, processor, path) -> None:
    _ended(provider, processor, "child")
    deadline = time.monotonic() + 10
    while "child" not in (path.read_text().split() if path.exists() else []):
        if time.monotonic() > deadline:
            raise SystemExit(1)
        time.sleep(0.02)
