"""A bench-only service: one stream and a no-op batched processor.

Installed only by ``bench.events_settings``; ``bench/events.py`` produces to
``bench_events`` and times how fast the worker records the inbox entries::

    bench_events.produce_many([{"type": "created", "item_id": 1, ...}])
"""
