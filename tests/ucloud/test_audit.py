"""``ucloud.rpc.audit``: masking secrets and writing one JSON record per audited call."""

from __future__ import annotations

import json
import logging

import pytest

from ucloud.auth.principal import GUEST, Principal
from ucloud.contracts.roles import Role
from ucloud.rpc.audit import record, redact


def test_redact_masks_secret_looking_keys_at_any_depth():
    data = {
        "username": "alice",
        "Password": "p",
        "new_password": "p2",
        "access_token": "t",
        "client_secret": "s",
        "items": [{"token": "t", "size": 1}, "plain"],
        "nested": {"deeper": {"refresh_token": "r", "kept": 2}},
    }
    assert redact(data) == {
        "username": "alice",
        "Password": "***",
        "new_password": "***",
        "access_token": "***",
        "client_secret": "***",
        "items": [{"token": "***", "size": 1}, "plain"],
        "nested": {"deeper": {"refresh_token": "***", "kept": 2}},
    }


@pytest.mark.parametrize("value", [None, 3, "password", ["token"]])
def test_redact_leaves_non_mappings_alone(value):
    assert redact(value) == value


def write(principal=None, **overrides):
    fields = {
        "call_name": "files.create",
        "principal": principal or Principal("alice", Role.USER),
        "status": 200,
        "duration_ms": 1.23456,
        "job_id": "j1",
        "caused_by": None,
        "request": {"path": "/a", "password": "x"},
    }
    record(**{**fields, **overrides})


def test_record_writes_one_json_line_with_the_call_facts(audit_log):
    write()
    (entry,) = audit_log.records
    assert entry.levelno == logging.INFO
    assert json.loads(entry.getMessage()) == {
        "call": "files.create",
        "username": "alice",
        "role": "USER",
        "status": 200,
        "duration_ms": 1.235,
        "job_id": "j1",
        "caused_by": None,
        "request": {"path": "/a", "password": "***"},
    }
    assert entry.audit["call"] == "files.create"


def test_record_of_a_guest_has_an_empty_username(audit_log):
    write(principal=GUEST, status=401)
    (entry,) = audit_log.records
    assert json.loads(entry.getMessage())["role"] == "GUEST"


def test_record_serializes_values_json_cannot(audit_log):
    import datetime

    write(request={"when": datetime.date(2024, 1, 2)})
    (entry,) = audit_log.records
    assert json.loads(entry.getMessage())["request"] == {"when": "2024-01-02"}


def test_nothing_is_written_when_info_is_disabled(caplog):
    audit_logger = logging.getLogger("ucloud.audit")
    audit_logger.addHandler(caplog.handler)
    try:
        assert not audit_logger.isEnabledFor(logging.INFO)  # the project's default level
        write()
    finally:
        audit_logger.removeHandler(caplog.handler)
    assert caplog.records == []
