"""Periodic kit tasks are routed per service, so that in a split deployment
each unit's worker sweeps and prunes its own database."""

from __future__ import annotations

import pytest
from celery import Celery
from django.conf import settings
from django.test import override_settings

from apps.files import services as files
from ucloud.events import relay, tasks
from ucloud.management.commands.ucloud_worker import worker_queues
from ucloud.models import OutboxEvent


def test_services_with_event_tables_are_the_producers_and_the_consumers():
    # files produces files.events, files (its search index) and notifications
    # consume it, audit consumes the kit's audit stream; accounts neither.
    assert tasks.services_with_event_tables() == ["audit", "files", "notifications"]


def test_beat_gets_one_sweep_and_one_pruning_per_service_on_its_relay_queue():
    app = Celery("schedule-test", set_as_current=False)
    with override_settings(UCLOUD={**settings.UCLOUD, "RELAY_SWEEP_INTERVAL": 7.0}):
        tasks.schedule_periodic_tasks(app)
    schedule = app.conf.beat_schedule
    assert sorted(schedule) == [
        "ucloud.prune_events.audit",
        "ucloud.prune_events.files",
        "ucloud.prune_events.notifications",
        "ucloud.relay_sweep.audit",
        "ucloud.relay_sweep.files",
        "ucloud.relay_sweep.notifications",
    ]
    sweep = schedule["ucloud.relay_sweep.files"]
    assert sweep["schedule"] == 7.0
    assert sweep["task"] == "ucloud.relay_sweep"
    assert tuple(sweep["args"]) == ("files",)
    assert sweep["options"]["queue"] == "ucloud.relay.files"


@pytest.mark.parametrize(
    ("served", "queues"),
    [
        (
            None,
            [
                "ucloud.relay",
                "ucloud.accounts",
                "ucloud.audit",
                "ucloud.files",
                "ucloud.notifications",
                "ucloud.relay.audit",
                "ucloud.relay.files",
                "ucloud.relay.notifications",
            ],
        ),
        (["files"], ["ucloud.relay", "ucloud.files", "ucloud.relay.files"]),
        (["notifications"], ["ucloud.relay", "ucloud.notifications", "ucloud.relay.notifications"]),
        (["accounts"], ["ucloud.relay", "ucloud.accounts"]),
    ],
)
def test_a_worker_consumes_the_queues_of_the_services_it_serves(served, queues):
    with override_settings(UCLOUD={**settings.UCLOUD, "SERVICES": served}):
        assert worker_queues() == queues


@pytest.mark.django_db(transaction=True)
def test_the_sweep_of_a_service_relays_what_its_outbox_left_pending():
    # Leave a row pending, as a crash between commit and relay would.
    eager_now = {"EVENTS_EAGER": True, "RELAY_SWEEP_MIN_AGE": 0.0}
    with override_settings(UCLOUD={**settings.UCLOUD, **eager_now}):
        from ucloud.events import outbox

        outbox.set_after_commit(None)
        try:
            files.file_create(owner="alice", path="/swept.txt", size=1)
        finally:
            outbox.set_after_commit(relay.relay_after_commit)
        assert OutboxEvent.objects.filter(relayed_at__isnull=True).count() == 1

        assert tasks.relay_sweep("files") == 1
        assert tasks.relay_sweep("files") == 0
    assert OutboxEvent.objects.filter(relayed_at__isnull=True).count() == 0
