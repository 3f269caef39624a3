"""The bench stream: payloads shaped like ``files.events`` (a few short fields).

::

    bench_events.produce({"type": "created", "item_id": 7, "owner": "b", "path": "/7"})
    bench_unordered.produce(...)       # the same, ordered=False
"""

from rest_framework import serializers

from ucloud.events.streams import EventStream


class BenchEvent(serializers.Serializer):
    type = serializers.CharField()
    item_id = serializers.IntegerField()
    owner = serializers.CharField()
    path = serializers.CharField()


bench_events = EventStream("bench.events", payload=BenchEvent, key="item_id")
# The same events without order per key: what ordering costs is the
# difference between the two streams' figures.
bench_unordered = EventStream("bench.unordered", payload=BenchEvent, key="item_id", ordered=False)


def payload(number: int) -> dict[str, object]:
    """The ``number``-th event of a run; the raw baselines send the same JSON."""
    return {"type": "created", "item_id": number, "owner": "bench", "path": f"/bench/{number}.txt"}
