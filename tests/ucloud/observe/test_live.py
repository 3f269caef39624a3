"""Each unit answers the kit's own calls (SERVICE tokens only): its live
state, its dead letters (listed and retried where they live), its figures;
the admin reaches every unit through them, in process or over HTTP."""

from __future__ import annotations

import os
import uuid

import pytest
from django.test import Client

from apps.notifications.models import Notification
from ucloud.auth.tokens import mint_access_token
from ucloud.contracts.roles import Role
from ucloud.locks import DistributedLock
from ucloud.locks.redis import RedisLocks
from ucloud.models import DeadLetter
from ucloud.observe.api import UcloudDescriptions
from ucloud.observe.units import THIS_PROCESS, UnitRef, ask, ask_all, running_units

NOTIFY = "notifications:apps.notifications.processors.notify_of_file_event"
PAYLOAD = {"type": "file_shared", "file_id": 7, "owner": "alice", "path": "/a.txt",
           "old_path": None, "shared_with": "bob"}  # fmt: skip


def letter(error: str = "OperationalError: down") -> DeadLetter:
    return DeadLetter.objects.create(
        consumer=NOTIFY, event_id=uuid.uuid4(), stream="files.events", key="7",
        payload=PAYLOAD, error=error, attempts=5,
    )  # fmt: skip


def here() -> UnitRef:
    return running_units()[0]


def test_in_one_process_there_is_one_unit_serving_everything():
    assert running_units() == [
        UnitRef(THIS_PROCESS, ("accounts", "audit", "files", "notifications"))
    ]


def test_other_units_are_grouped_by_url_and_named_by_the_topology(settings):
    settings.UCLOUD = {
        **settings.UCLOUD,
        "SERVICES": ["accounts"],
        "SERVICE_URLS": {
            "files": "http://127.0.0.1:9",
            "notifications": "http://127.0.0.1:10",
            "audit": "http://127.0.0.1:10",
        },
    }

    assert running_units() == [
        UnitRef(f"accounts ({THIS_PROCESS})", ("accounts",)),
        # audit and notifications share one URL: one unit, named by the topology
        UnitRef("notifications", ("audit", "notifications"), "http://127.0.0.1:10"),
        UnitRef("files", ("files",), "http://127.0.0.1:9"),
    ]


@pytest.mark.django_db
def test_the_kit_calls_take_service_tokens_only(client: Client):
    token = mint_access_token("alice", Role.USER)

    assert client.get("/api/ucloud/live").status_code == 401
    refused = client.get("/api/ucloud/live", headers={"Authorization": f"Bearer {token}"})
    assert (refused.status_code, refused.json()["error_code"]) == (403, "forbidden")
    assert b"/api/ucloud" not in client.get("/api/schema/").content


@pytest.mark.django_db(transaction=True)
def test_over_http_a_unit_lists_and_retries_its_dead_letters(live_server):
    failing = letter()
    unit = UnitRef("remote", ("notifications",), live_server.url)

    listed = ask(unit, UcloudDescriptions.dead_letters, {"resolved": False, "limit": 10})
    retried = ask(unit, UcloudDescriptions.retry_dead_letters,
                  {"letters": [{"database": "default", "id": failing.id},
                               {"database": "default", "id": 10**9}]})  # fmt: skip

    assert [(item["id"], item["stream"], item["error"]) for item in listed["letters"]] == [
        (failing.id, "files.events", "OperationalError: down")
    ]
    assert [(item["id"], item["handled"]) for item in retried["results"]] == [
        (failing.id, True),
        (10**9, False),
    ]
    failing.refresh_from_db()
    assert failing.resolved_at is not None
    assert Notification.objects.get().message == "alice shared /a.txt with you"


@pytest.mark.django_db
def test_the_live_state_counts_dead_letters_and_the_outbox_backlog():
    letter()

    state = ask(here(), UcloudDescriptions.live, {})["state"]

    assert state["status"]["status"] == "ok"
    assert state["dead_letters"]["items"] == [
        {"database": "default", "stream": "files.events", "consumer": NOTIFY, "letters": 1}
    ]
    assert state["outbox"]["items"] == []
    assert state["events_mode"] in ("eager", "streams")


def test_a_unit_that_does_not_answer_is_an_error_not_a_failure(closed_port):
    gone = UnitRef("gone", ("files",), f"http://127.0.0.1:{closed_port}")

    answers = ask_all(UcloudDescriptions.describe, {}, [gone])

    assert answers[gone].value is None
    assert answers[gone].error.startswith("502 bad_gateway")


def test_locks_held_now_name_their_holder_token_and_time_left(settings):
    settings.UCLOUD = {**settings.UCLOUD, "LOCK_BACKEND": "local"}
    with DistributedLock("observe.live", ttl=30) as lock:
        token = lock.fencing_token
        (held,) = [
            row for row in ask(here(), UcloudDescriptions.live, {})["state"]["locks"]["items"]
            if row["name"] == "observe.live"
        ]  # fmt: skip

    assert held["fencing_token"] == token
    assert held["holder"].startswith("this process")
    assert 0 < held["time_left_s"] <= 30


def test_redis_locks_held_now_name_the_holding_process(redis_url):
    backend = RedisLocks.from_url(redis_url)
    with DistributedLock(f"observe.{uuid.uuid4().hex}", ttl=20, backend=backend) as lock:
        token = lock.fencing_token
        (held,) = [row for row in backend.held_locks() if row.name == lock.name]

    assert held.fencing_token == token
    assert held.holder.endswith(f":{os.getpid()}")
    assert 0 < (held.time_left or 0) <= 20
