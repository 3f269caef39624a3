"""The bench service's entry point; its consumer group is ``eventsbench``.

Listed in ``INSTALLED_APPS`` by ``bench.events_settings`` only::

    INSTALLED_APPS = [*INSTALLED_APPS, "bench.events_app"]
"""

from ucloud.service import DATABASE, Service


class EventsBenchService(Service):
    name = "bench.events_app"
    label = "eventsbench"
    verbose_name = "Events benchmark"
    features = (DATABASE,)
