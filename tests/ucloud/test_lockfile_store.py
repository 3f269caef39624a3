"""``ucloud.lockfile.store`` and ``describe``: the lockfile's bytes and what it holds."""

from __future__ import annotations

import json

import pytest

from apps.files.api import FileDescriptions
from ucloud.lockfile import LockfileError, compare, describe_contracts
from ucloud.lockfile.describe import describe_call
from ucloud.lockfile.store import FORMAT, Lockfile


def test_the_code_is_described_call_by_call_and_stream_by_stream():
    contracts = describe_contracts()

    assert sorted(contracts["calls"]) == [
        "accounts.change_password",
        "accounts.create_user",
        "accounts.deactivate_user",
        "accounts.login",
        "accounts.logout",
        "accounts.refresh",
        "accounts.retrieve_user",
        "accounts.whoami",
        "audit.browse",
        "audit.search",
        "files.browse",
        "files.create",
        "files.delete",
        "files.move",
        "files.retrieve",
        "files.search",
        "files.share",
        "notifications.browse",
        "notifications.mark_read",
    ]
    assert list(contracts["streams"]) == ["files.events"]
    assert contracts["streams"]["files.events"]["key"] == "file_id"


def test_a_call_is_described_by_what_its_callers_rely_on():
    described = describe_call(FileDescriptions.retrieve)

    assert {key: described[key] for key in ("service", "http", "roles", "access", "scope")} == {
        "service": "files",
        "http": {"method": "GET", "path": "/api/files/retrieve", "source": "query", "status": 200},
        "roles": ["USER", "ADMIN"],
        "access": "read",
        "scope": "files.retrieve:read",
    }
    assert described["errors"] == [
        {
            "status": 404,
            "error_code": "unknown_file",
            "description": FileDescriptions.retrieve.errors[0].description,
        }
    ]
    assert described["request"]["fields"]["id"] == {
        "type": "integer",
        "required": True,
        "nullable": False,
        "limits": {"min_value": 1, "max_value": 2**63 - 1},
    }


def test_the_same_contracts_write_the_same_bytes_with_sorted_keys(tmp_path):
    lock = Lockfile()
    lock.record(describe_contracts())
    first, second = tmp_path / "one.lock", tmp_path / "two.lock"
    lock.write(first)
    Lockfile.read(first).write(second)

    assert first.read_bytes() == second.read_bytes()
    text = first.read_text()
    assert text.endswith("}\n")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert compare(Lockfile.read(first).contracts, describe_contracts()) == []


@pytest.mark.parametrize(
    ("content", "match"),
    [(None, "no lockfile"), ("{", "not JSON"), ('{"format": 99}', f"format {FORMAT}")],
)
def test_a_missing_malformed_or_foreign_lockfile_is_refused(tmp_path, content, match):
    path = tmp_path / "contracts.lock"
    if content is not None:
        path.write_text(content)
    with pytest.raises(LockfileError, match=match):
        Lockfile.read(path)


def test_accepting_takes_the_new_contract_of_that_call_only_and_keeps_the_reason():
    old = describe_contracts()
    lock = Lockfile()
    lock.record(old)
    new = json.loads(json.dumps(old))
    del new["calls"]["files.retrieve"]["response"]["fields"]["size"]
    del new["calls"]["files.create"]["response"]["fields"]["size"]
    breaking = [c for c in compare(lock.contracts, new) if c.subject == "files.retrieve"]

    lock.accept("files.retrieve", reason="size moved", changes=breaking, current=new)

    assert lock.calls["files.retrieve"] == new["calls"]["files.retrieve"]
    assert lock.calls["files.create"] == old["calls"]["files.create"]
    assert lock.accepted == [
        {
            "name": "files.retrieve",
            "reason": "size moved",
            "changes": ["response field `size`: removed [response-field-removed]"],
        }
    ]
