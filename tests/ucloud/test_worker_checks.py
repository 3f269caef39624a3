"""W040: a broker without the kit's Celery worker consumer."""

from __future__ import annotations

from ucloud.checks import check_worker_consumer
from ucloud.events.celery_consumer import BrokerRestartSafeConsumer

BROKER = "redis://127.0.0.1:6379/0"


class ProjectConsumer(BrokerRestartSafeConsumer):
    """A project's own consumer built on the kit's."""


def test_the_projects_settings_select_the_kits_consumer(settings):
    settings.CELERY_BROKER_URL = BROKER

    assert check_worker_consumer() == []


def test_celerys_own_consumer_is_warned_about():
    (warning,) = check_worker_consumer(broker=BROKER, consumer="celery.worker.consumer:Consumer")

    assert warning.id == "ucloud.W040"
    assert "celery.worker.consumer:Consumer" in warning.msg
    assert "ucloud.events.celery_consumer:BrokerRestartSafeConsumer" in warning.hint


def test_settings_without_the_setting_are_warned_about(settings):
    settings.CELERY_BROKER_URL = BROKER
    del settings.CELERY_WORKER_CONSUMER

    (warning,) = check_worker_consumer()

    assert warning.id == "ucloud.W040"
    assert "celery.worker.consumer:Consumer" in warning.msg


def test_a_subclass_of_the_kits_consumer_passes():
    consumer = f"{__name__}:ProjectConsumer"

    assert check_worker_consumer(broker=BROKER, consumer=consumer) == []


def test_a_name_that_does_not_import_is_warned_about():
    (warning,) = check_worker_consumer(broker=BROKER, consumer="nowhere.at.all:Consumer")

    assert warning.id == "ucloud.W040"


def test_without_a_broker_there_is_no_worker_to_warn_about():
    assert check_worker_consumer(broker="", consumer="celery.worker.consumer:Consumer") == []
