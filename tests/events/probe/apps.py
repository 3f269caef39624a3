"""The probe service: a consumer group of its own (``probe``)."""

from ucloud.service import DATABASE, Service


class ProbeService(Service):
    name = "tests.events.probe"
    label = "probe"
    verbose_name = "Delivery probe (tests only)"
    features = (DATABASE,)
