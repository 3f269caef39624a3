"""Parity: every call of every service answers the same in one process and over HTTP.

The cases of ``tests/parity/cases.py`` (successes, field errors, bad query
strings, unknown objects, conflicts, throttling, expired, foreign-audience,
forwarded and malformed tokens) run twice from the same fresh state: once
with every service in this process (in-process transport), once with every
call sent over HTTP to a live server (``forced_http``). Status, body and
exception class must be identical, case by case; only timestamps and
freshly minted tokens are compared by what they stand for.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from tests.conftest import clear_throttles
from tests.parity.cases import CASES, LOGIN_FAILURES_ALLOWED, Case, build_world, run_case
from ucloud import registry
from ucloud.contracts.calls import CallDescription, containers
from ucloud.testing import forced_http, served_requests


def declared_calls() -> set[CallDescription]:
    """Every call of every registered service."""
    found: set[CallDescription] = set()
    for container in containers().values():
        try:
            registry.service_of_module(container.__module__)
        except LookupError:
            continue
        found.update(container.calls())
    return found


def test_every_call_of_every_service_has_parity_cases():
    missing = {call.full_name for call in declared_calls()} - {c.call.full_name for c in CASES}
    assert missing == set(), f"calls without parity cases: {sorted(missing)}"


def run_everything(live_server_url: str | None) -> list[tuple[Any, ...]]:
    """The outcome of every case, from a fresh database and fresh throttles."""
    call_command("flush", interactive=False, verbosity=0)  # ids start at 1 again
    clear_throttles()
    world = build_world()
    transport = forced_http(live_server_url) if live_server_url else nullcontext()
    with transport, served_requests() as seen:
        outcomes = [run_case(case, world) for case in CASES]
    # Each run took the transport it claims: no request, or one per call at least.
    if live_server_url:
        assert len(seen) >= len(CASES)
    else:
        assert seen == []
    return outcomes


def test_every_call_answers_the_same_in_one_process_and_over_http(transactional_db, live_server):
    limits = {**settings.UCLOUD, "LOGIN_FAILURES_PER_USERNAME": LOGIN_FAILURES_ALLOWED}
    with override_settings(UCLOUD=limits):
        in_process = run_everything(None)
        over_http = run_everything(live_server.url)

    differences = [
        f"{case.call.full_name} as {case.caller} with {case.request!r}:\n"
        f"  in process: {here!r}\n  over HTTP:  {there!r}"
        for case, here, there in zip(CASES, in_process, over_http, strict=True)
        if here != there
    ]
    assert not differences, "\n".join(differences)
    # The cases reach both sides of every call: successes and each kind of error.
    statuses = {outcome[1] for outcome in in_process if outcome[0] != "ok"}
    assert statuses == {400, 401, 403, 404, 409, 429}
    assert sum(outcome[0] == "ok" for outcome in in_process) >= 30


@pytest.mark.parametrize(
    ("caller", "refused_by"),
    [
        ("expired", {"accounts", "audit", "files", "notifications"}),
        ("garbage", {"accounts", "audit", "files", "notifications"}),
        # files' token for accounts; files' token for notifications, passed on by a stranger.
        ("foreign", {"audit", "files", "notifications"}),
        ("misforwarded", {"accounts", "audit", "files"}),
    ],
)
def test_bad_tokens_are_refused_by_every_call_on_both_transports(
    transactional_db, live_server, caller, refused_by
):
    """Whatever the call, public ones included, a bad token is the same 401 both ways."""
    world = build_world()
    calls = sorted(declared_calls(), key=lambda call: call.full_name)
    results = []
    for url in (None, live_server.url):
        with forced_http(url) if url else nullcontext():
            results.append([run_case(Case(call, caller, {}), world) for call in calls])
    assert results[0] == results[1]
    answers = zip(calls, results[0], strict=True)
    refused = {call.full_name for call, outcome in answers if outcome[1] == 401}
    assert refused == {call.full_name for call in calls if call.namespace in refused_by}
