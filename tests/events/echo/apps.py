"""The echo service: consumer group ``echo``."""

from ucloud.service import DATABASE, Service


class EchoService(Service):
    name = "tests.events.echo"
    label = "echo"
    verbose_name = "Second delivery probe (tests only)"
    features = (DATABASE,)
