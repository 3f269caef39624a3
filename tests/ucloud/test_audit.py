"""``ucloud.audit``: records with secrets masked, logged and produced onto the
audit stream through the serving service's outbox, never failing a call."""

from __future__ import annotations

import datetime
import json
import logging
import time

import pytest
from rest_framework import serializers

from ucloud.audit import producer, record, redact
from ucloud.audit.records import build, request_text
from ucloud.audit.stream import audit_records
from ucloud.auth.principal import GUEST, Principal
from ucloud.contracts.roles import Role
from ucloud.models import OutboxEvent


def test_redact_masks_secret_looking_keys_at_any_depth():
    data = {
        "username": "alice",
        "Password": "p",
        "new_password": "p2",
        "access_token": "t",
        "client_secret": "s",
        "items": [{"token": "t", "size": 1}, "plain"],
        "nested": {"deeper": {"refresh_token": "r", "kept": 2, "api_key": "k"}},
    }
    assert redact(data) == {
        "username": "alice",
        "Password": "***",
        "new_password": "***",
        "access_token": "***",
        "client_secret": "***",
        "items": [{"token": "***", "size": 1}, "plain"],
        "nested": {"deeper": {"refresh_token": "***", "kept": 2, "api_key": "***"}},
    }


@pytest.mark.parametrize("value", [None, 3, "password", ["token"]])
def test_redact_leaves_non_mappings_alone(value):
    assert redact(value) == value


class Pin(serializers.Serializer):
    pin = serializers.CharField(write_only=True)
    note = serializers.CharField()


class Unlock(serializers.Serializer):
    door = serializers.CharField()
    passphrase = serializers.CharField(style={"input_type": "password"})
    pins = Pin(many=True)
    backup = Pin()


def test_redact_masks_the_write_only_and_password_fields_of_the_request_serializer():
    data = {
        "door": "front",
        "passphrase": "open sesame",
        "pins": [{"pin": "1234", "note": "a"}, {"pin": "9999", "note": "b"}],
        "backup": {"pin": "0000", "note": "c"},
    }

    assert redact(data, Unlock) == {
        "door": "front",
        "passphrase": "***",
        "pins": [{"pin": "***", "note": "a"}, {"pin": "***", "note": "b"}],
        "backup": {"pin": "***", "note": "c"},
    }
    assert data["pins"][0]["pin"] == "1234"  # the caller's data is not changed


def facts(**overrides):
    fields = {
        "call_name": "files.create",
        "principal": Principal("alice", Role.USER, token="eyJ.secret.token"),
        "status": 200,
        "duration_ms": 1.23456,
        "job_id": "j1",
        "caused_by": None,
        "request": {"path": "/a", "password": "x"},
        "client_address": "10.0.0.7",
        "user_agent": "curl/8",
    }
    return {**fields, **overrides}


def test_a_record_has_the_call_facts_and_never_the_token():
    entry = build(**facts())

    assert datetime.datetime.fromisoformat(entry["time"]).tzinfo is not None
    assert {key: value for key, value in entry.items() if key != "time"} == {
        "call": "files.create",
        "username": "alice",
        "role": "USER",
        "service": "",
        "via": "",
        "job_id": "j1",
        "caused_by": "",
        "status": 200,
        "duration_us": 1235,
        "remote_address": "10.0.0.7",
        "user_agent": "curl/8",
        "request": '{"password":"***","path":"/a"}',
    }
    assert "eyJ" not in json.dumps(entry)
    audit_records.validate(entry)  # what the stream carries


def test_a_service_principal_names_its_service_and_who_forwarded_it():
    forwarded = Principal("_files", Role.SERVICE, via=("notifications", "audit"))

    entry = build(**facts(principal=forwarded))

    assert (entry["username"], entry["service"], entry["via"]) == (
        "_files",
        "files",
        "notifications,audit",
    )


def test_values_json_cannot_hold_are_written_as_text():
    assert request_text({"when": datetime.date(2024, 1, 2)}) == '{"when":"2024-01-02"}'


def test_a_large_request_is_recorded_as_its_size(settings):
    settings.UCLOUD = {**settings.UCLOUD, "AUDIT_MAX_REQUEST_BYTES": 100}

    assert json.loads(request_text({"blob": "x" * 500})) == {"truncated": True, "bytes": 511}


def test_the_record_is_logged_as_one_json_line(audit_log):
    record(**facts())

    (entry,) = audit_log.records
    assert entry.levelno == logging.INFO
    assert json.loads(entry.getMessage())["call"] == "files.create"
    assert entry.audit["status"] == 200


def test_nothing_is_logged_when_info_is_disabled(caplog, settings):
    settings.UCLOUD = {**settings.UCLOUD, "AUDIT": False}
    audit_logger = logging.getLogger("ucloud.audit")
    audit_logger.addHandler(caplog.handler)
    try:
        assert not audit_logger.isEnabledFor(logging.INFO)  # the project's default level
        record(**facts())
    finally:
        audit_logger.removeHandler(caplog.handler)
    assert caplog.records == []


@pytest.mark.django_db
def test_the_record_is_produced_into_the_outbox_of_the_serving_service():
    record(**facts(), service="files")

    (row,) = OutboxEvent.objects.filter(stream="ucloud.audit")
    assert row.payload["call"] == "files.create"
    assert row.key == "j1"


@pytest.mark.django_db
def test_audit_off_produces_nothing(settings):
    settings.UCLOUD = {**settings.UCLOUD, "AUDIT": False}

    record(**facts())

    assert not OutboxEvent.objects.filter(stream="ucloud.audit").exists()


def test_a_failure_to_produce_is_logged_and_never_raised(caplog, monkeypatch):
    def refuse(alias, records):
        raise RuntimeError("database down")

    monkeypatch.setattr(producer, "produce", refuse)
    audit_logger = logging.getLogger("ucloud.audit")
    audit_logger.addHandler(caplog.handler)
    try:
        record(**facts(principal=GUEST, status=401))
    finally:
        audit_logger.removeHandler(caplog.handler)

    assert [r.levelno for r in caplog.records] == [logging.ERROR]


def test_the_buffer_produces_by_database_and_keeps_what_failed(settings, monkeypatch):
    settings.UCLOUD = {**settings.UCLOUD, "AUDIT_IN_BACKGROUND": True}
    produced: list[tuple[str, list[str]]] = []
    failing = {"files"}

    def produce(alias, records):
        if alias in failing:
            raise RuntimeError("down")
        produced.append((alias, [r["call"] for r in records]))

    monkeypatch.setattr(producer, "produce", produce)
    buffer = producer.AuditBuffer()
    monkeypatch.setattr(buffer, "_ensure_thread", lambda: None)  # flushed by hand here
    for alias, call in [("default", "a.one"), ("files", "f.one"), ("default", "a.two")]:
        buffer.add(alias, {"call": call})

    with pytest.raises(RuntimeError):
        buffer.flush()
    assert produced == [("default", ["a.one", "a.two"])]
    assert buffer.pending() == 1

    failing.clear()
    assert buffer.flush() == 1
    assert produced[-1] == ("files", ["f.one"])


def test_the_flush_thread_follows_a_changed_interval(settings, monkeypatch):
    # Only this test's records: the process's own buffer may flush too.
    ours = {"soon", "held"}
    produced: list[str] = []
    monkeypatch.setattr(
        producer,
        "produce",
        lambda alias, rs: produced.extend(r["call"] for r in rs if r.get("call") in ours),
    )
    monkeypatch.setattr(producer, "close_old_connections", lambda: None)
    settings.UCLOUD = {**settings.UCLOUD, "AUDIT_IN_BACKGROUND": True, "AUDIT_FLUSH_INTERVAL": 0.05}
    buffer = producer.AuditBuffer()
    buffer.add("default", {"call": "soon"})
    give_up = time.monotonic() + 10
    while produced != ["soon"] and time.monotonic() < give_up:
        time.sleep(0.01)
    assert produced == ["soon"]

    # A long interval applies from the thread's next wait on (within 0.05 s).
    settings.UCLOUD = {**settings.UCLOUD, "AUDIT_FLUSH_INTERVAL": 3600}
    time.sleep(0.2)
    buffer.add("default", {"call": "held"})
    time.sleep(0.3)
    assert (produced, buffer.pending()) == (["soon"], 1)


def test_a_full_buffer_drops_the_oldest_and_says_so(settings, monkeypatch, caplog):
    settings.UCLOUD = {**settings.UCLOUD, "AUDIT_IN_BACKGROUND": True, "AUDIT_BUFFER_LIMIT": 2}
    produced: list[str] = []
    monkeypatch.setattr(
        producer, "produce", lambda alias, rs: produced.extend(r["call"] for r in rs)
    )
    buffer = producer.AuditBuffer()
    monkeypatch.setattr(buffer, "_ensure_thread", lambda: None)
    for call in ("one", "two", "three"):
        buffer.add("default", {"call": call})
    audit_logger = logging.getLogger("ucloud.audit")
    audit_logger.addHandler(caplog.handler)
    try:
        buffer.flush()
    finally:
        audit_logger.removeHandler(caplog.handler)

    assert produced == ["two", "three"]
    assert "Dropped 1 audit record(s)" in caplog.text


def test_what_a_caller_sends_in_headers_and_paths_is_cleaned_and_cut_to_the_fields():
    # Anyone can send these (refused calls are recorded too): each used to
    # make a record the stream refused, and the buffer kept it for ever.
    entry = build(
        **facts(
            call_name="HTTP POST /admin/" + "a" * 400,
            job_id="j" * 201,
            caused_by="c\x00" * 150,
            user_agent="agent\x00\ud800" + "u" * 600,
            client_address="1" * 200,
        )
    )

    audit_records.validate(entry)
    assert entry["call"] == ("HTTP POST /admin/" + "a" * 400)[:300]
    assert entry["job_id"] == "j" * 200
    assert entry["caused_by"] == ("c\ufffd" * 100)
    assert entry["user_agent"].startswith("agent\ufffd\ufffduuu")
    assert (len(entry["user_agent"]), len(entry["remote_address"])) == (500, 100)


def test_a_request_with_nul_unpaired_surrogates_and_nan_is_valid_json_text():
    text = request_text({"name\ud800": "a\x00b", "pair": "\ud83d\ude00", "n": float("nan")})

    assert json.loads(text) == {"name\ufffd": "a\ufffdb", "pair": "😀", "n": "nan"}
    assert "\\u0000" not in text
    assert "NaN" not in text


@pytest.mark.django_db
def test_a_record_the_stream_refuses_is_dropped_and_the_others_produced(caplog):
    good = build(**facts())
    bad = {**build(**facts(job_id="j2")), "status": 42}  # no HTTP status: a kit bug

    with caplog.at_level(logging.ERROR, logger="ucloud.audit"):
        producer.produce("default", [good, bad, {**good, "job_id": "j3"}])

    rows = OutboxEvent.objects.filter(stream="ucloud.audit").order_by("id")
    assert [row.key for row in rows] == ["j1", "j3"]
    assert "Dropped an audit record of files.create" in caplog.text
