"""The probe's streams: numbered events that can hold a worker or fail on
purpose, and sequenced events whose order per key is checked.

probe_events.produce_many([{"number": n} for n in range(100)])
probe_events.produce({"number": 7, "hold": True})      # waits on PROBE_DIR/hold
probe_events.produce({"number": 8, "poison": True})    # fails until PROBE_DIR/cured
probe_sequence.produce({"key": 3, "seq": 0, "delay_ms": 5, "fail_times": 1})
"""

from __future__ import annotations

from rest_framework import serializers

from ucloud.events.streams import EventStream


class ProbeEvent(serializers.Serializer):
    number = serializers.IntegerField(min_value=0)
    # The processor waits while PROBE_DIR/hold exists: a worker can be killed
    # with this event's transaction open, deterministically.
    hold = serializers.BooleanField(default=False)
    # The processor raises until PROBE_DIR/cured exists (the "fix").
    poison = serializers.BooleanField(default=False)


probe_events = EventStream("probe.events", payload=ProbeEvent, key="number")


class SequencedEvent(serializers.Serializer):
    key = serializers.IntegerField(min_value=0)
    seq = serializers.IntegerField(min_value=0)
    # The processor sleeps this long: consumers overlap in time.
    delay_ms = serializers.IntegerField(min_value=0, default=0)
    # The processor fails this many times before it succeeds.
    fail_times = serializers.IntegerField(min_value=0, default=0)


probe_sequence = EventStream("probe.sequence", payload=SequencedEvent, key="key")
