"""The probe's stream: numbered events that can hold a worker or fail on purpose.

probe_events.produce_many([{"number": n} for n in range(100)])
probe_events.produce({"number": 7, "hold": True})      # waits on PROBE_DIR/hold
probe_events.produce({"number": 8, "poison": True})    # fails until PROBE_DIR/cured
"""

from __future__ import annotations

from rest_framework import serializers

from ucloud.streams import EventStream


class ProbeEvent(serializers.Serializer):
    number = serializers.IntegerField(min_value=0)
    # The processor waits while PROBE_DIR/hold exists: a worker can be killed
    # with this event's transaction open, deterministically.
    hold = serializers.BooleanField(default=False)
    # The processor raises until PROBE_DIR/cured exists (the "fix").
    poison = serializers.BooleanField(default=False)


probe_events = EventStream("probe.events", payload=ProbeEvent, key="number")
