"""``manage.py ucloud_contracts``: check, write and accept, on the real contracts."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from apps.files.api import File
from ucloud.lockfile import compare, describe_contracts
from ucloud.lockfile.store import Lockfile

FILE_CALLS = [
    "files.browse",
    "files.create",
    "files.move",
    "files.retrieve",
    "files.search",
    "files.share",
]


@pytest.fixture
def lockfile(tmp_path):
    path = tmp_path / "contracts.lock"
    call_command("ucloud_contracts", "--write", "--lockfile", str(path))
    return path


@pytest.fixture
def without_size(monkeypatch):
    """apps/files/api.py with ``File.size`` deleted, as an edit would leave it."""
    monkeypatch.delitem(File._declared_fields, "size")


def run(*args, lockfile):
    call_command("ucloud_contracts", *args, "--lockfile", str(lockfile))


def test_the_committed_lockfile_records_the_contracts_of_the_code_exactly():
    lock = Lockfile.read(settings.BASE_DIR / "contracts.lock")
    changes = compare(lock.contracts, describe_contracts())
    assert changes == [], (
        "contracts.lock is out of date; run manage.py ucloud_contracts --write "
        "(or --accept NAME --reason TEXT for a breaking change):\n"
        + "\n".join(str(c) for c in changes)
    )


def test_check_passes_when_the_code_matches_the_lockfile(lockfile, capsys):
    run("--check", lockfile=lockfile)
    assert "matches every recorded contract" in capsys.readouterr().out


def test_check_without_a_lockfile_says_how_to_write_one(tmp_path):
    with pytest.raises(CommandError, match="no lockfile; write one with --write"):
        run("--check", lockfile=tmp_path / "contracts.lock")


def test_a_removed_response_field_fails_naming_the_call_the_field_and_the_rule(
    lockfile, without_size
):
    with pytest.raises(CommandError) as failed:
        run("--check", lockfile=lockfile)

    message = str(failed.value)
    assert "6 breaking change(s) not accepted" in message
    assert (
        "files.retrieve: response field `size`: removed [response-field-removed, breaking]"
        in message
    )
    assert "files.browse: response field `items[].size`: removed" in message
    assert "--accept files.browse --accept files.create" in message


def test_accepting_with_a_reason_makes_the_check_pass_and_records_why(
    lockfile, without_size, capsys
):
    accepts = [arg for name in FILE_CALLS for arg in ("--accept", name)]
    run(*accepts, "--reason", "size moved to files.stat", lockfile=lockfile)
    run("--check", lockfile=lockfile)

    assert "matches every recorded contract" in capsys.readouterr().out
    accepted = json.loads(lockfile.read_text())["accepted"]
    assert [record["name"] for record in accepted] == FILE_CALLS
    assert {record["reason"] for record in accepted} == {"size moved to files.stat"}
    assert (
        "size"
        not in json.loads(lockfile.read_text())["calls"]["files.retrieve"]["response"]["fields"]
    )


def test_write_refuses_to_record_a_breaking_change_silently(lockfile, without_size):
    before = lockfile.read_bytes()
    with pytest.raises(CommandError, match="breaking change"):
        run("--write", lockfile=lockfile)
    assert lockfile.read_bytes() == before


def test_accepting_needs_a_reason_and_a_breaking_change(lockfile, without_size):
    with pytest.raises(CommandError, match="needs --reason"):
        run("--accept", "files.retrieve", lockfile=lockfile)
    with pytest.raises(CommandError, match=r"No breaking change to accept for accounts\.login"):
        run(
            "--accept",
            "files.retrieve",
            "--accept",
            "accounts.login",
            "--reason",
            "x",
            lockfile=lockfile,
        )
    assert json.loads(lockfile.read_text())["accepted"] == []


def test_a_compatible_change_passes_with_a_warning_and_write_records_it(lockfile, capsys):
    data = json.loads(lockfile.read_text())
    del data["calls"]["files.retrieve"]["errors"][0]  # as if unknown_file were new
    lockfile.write_text(json.dumps(data))

    run("--check", lockfile=lockfile)
    captured = capsys.readouterr()
    assert (
        "warning: files.retrieve: error 404 unknown_file: newly declared [error-added, compatible]"
        in captured.err
    )
    assert "1 compatible change(s); record them with --write" in captured.out

    run("--write", lockfile=lockfile)
    assert compare(Lockfile.read(lockfile).contracts, describe_contracts()) == []
