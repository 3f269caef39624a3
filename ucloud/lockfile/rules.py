"""Which differences between two contracts break their users: explicit rules.

A difference is **breaking** when a user built against the old contract can
fail against the new one: an old caller's request refused, an old caller's
reading of a response wrong, an old consumer's reading of an event wrong.
Everything else is **compatible**. Requests are judged for senders, so a
new contract may accept more; responses for readers, so it may promise
more; a stream payload is both sent and read, so both rule sets apply and
the breaking verdict wins::

    for change in compare(old_contracts, new_contracts):
        print(change)
    # files.retrieve: response field `size`: removed [response-field-removed, breaking]

| rule | breaking | when |
|---|---|---|
| call-removed | yes | a call is gone |
| call-added | no | a new call |
| call-rebound | yes | method, path, request source or success status changed |
| call-moved | no | another service serves the call (same path and name) |
| roles-narrowed | yes | a role may no longer make the call |
| roles-widened | no | another role may make the call |
| callers-narrowed | yes | a service may no longer call (or callers newly restricted) |
| callers-widened | no | another service may call (or the restriction dropped) |
| access-raised | yes | read became write: read-scoped tokens no longer suffice |
| access-lowered | no | write became read |
| audit-changed | no | audit switched on or off |
| error-added | no (warned) | a newly declared error callers may want to handle |
| error-removed | no | an error no longer declared |
| error-described | no | an error's description changed |
| stream-removed | yes | a stream is gone |
| stream-added | no | a new stream |
| stream-key-changed | yes | events are keyed (and ordered) by another field |
| stream-moved | no | another service produces the stream |
| request-field-added-required | yes | old callers do not send it |
| request-field-added | no | a new optional field |
| request-field-removed | yes | old callers still send it (unknown fields are refused) |
| request-field-now-required | yes | optional became required |
| request-field-now-optional | no | required became optional |
| request-type-changed | yes | the type changed other than widened |
| request-type-widened | no | integer to number or decimal; choice, email, url, ... to string |
| request-null-refused | yes | null no longer accepted |
| request-null-allowed | no | null now accepted |
| request-default-changed | yes | an optional field's default changed (omitted, it means another) |
| request-choices-narrowed | yes | a choice is no longer accepted |
| request-choices-widened | no | a new choice is accepted |
| request-limit-tightened | yes | a maximum lowered, a minimum raised (or added), blank refused |
| request-limit-relaxed | no | the reverse |
| request-pattern-added | yes | a pattern added or changed |
| request-pattern-removed | no | a pattern dropped |
| request-validator-added | yes | a custom validator added |
| request-validator-removed | no | a custom validator dropped |
| response-field-removed | yes | removed or renamed: old readers look for it |
| response-field-added | no | a new field |
| response-field-now-optional | yes | it may be absent (not required, defaulted nor nullable) |
| response-field-now-present | no | it is now always there |
| response-type-changed | yes | the type changed other than narrowed |
| response-type-narrowed | no | the reverse of a widening (number to integer, ...) |
| response-field-now-nullable | yes | it may be null |
| response-field-now-non-null | no | it is never null any more |
| response-choices-widened | yes | a value old readers do not know |
| response-choices-narrowed | no | a value no longer sent |
| response-limit-relaxed | yes | values beyond what old readers were promised |
| response-limit-tightened | no | the reverse |
| response-pattern-removed | yes | values old readers were promised a pattern for may not match |
| response-pattern-added | no | a pattern added |

Nested fields (list items, map values, nested objects) follow the same
rules, named by their path (``items[].path``); ``ucloud.lockfile.fields``
applies the field rules, this module the others and the verdicts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ucloud.lockfile.fields import Direction, Found, Shape, compare_shapes, differing

# rule -> breaking; the table above says when each applies.
RULES: dict[str, bool] = {
    "call-removed": True,
    "call-added": False,
    "call-rebound": True,
    "call-moved": False,
    "roles-narrowed": True,
    "roles-widened": False,
    "callers-narrowed": True,
    "callers-widened": False,
    "access-raised": True,
    "access-lowered": False,
    "audit-changed": False,
    "error-added": False,
    "error-removed": False,
    "error-described": False,
    "stream-removed": True,
    "stream-added": False,
    "stream-key-changed": True,
    "stream-moved": False,
    "request-field-added-required": True,
    "request-field-added": False,
    "request-field-removed": True,
    "request-field-now-required": True,
    "request-field-now-optional": False,
    "request-type-changed": True,
    "request-type-widened": False,
    "request-null-refused": True,
    "request-null-allowed": False,
    "request-default-changed": True,
    "request-choices-narrowed": True,
    "request-choices-widened": False,
    "request-limit-tightened": True,
    "request-limit-relaxed": False,
    "request-pattern-added": True,
    "request-pattern-removed": False,
    "request-validator-added": True,
    "request-validator-removed": False,
    "response-field-removed": True,
    "response-field-added": False,
    "response-field-now-optional": True,
    "response-field-now-present": False,
    "response-type-changed": True,
    "response-type-narrowed": False,
    "response-field-now-nullable": True,
    "response-field-now-non-null": False,
    "response-choices-widened": True,
    "response-choices-narrowed": False,
    "response-limit-relaxed": True,
    "response-limit-tightened": False,
    "response-pattern-removed": True,
    "response-pattern-added": False,
}


@dataclass(frozen=True)
class Change:
    """One difference: what changed where, and the rule that judges it."""

    subject: str  # a call or stream name
    where: str  # "roles", "response field `size`", ...
    detail: str
    rule: str

    @property
    def breaking(self) -> bool:
        return RULES[self.rule]

    @property
    def text(self) -> str:
        """The change without its subject, as the lockfile records accepted ones."""
        return (
            f"{self.where}: {self.detail} [{self.rule}]"
            if self.where
            else f"{self.detail} [{self.rule}]"
        )

    def __str__(self) -> str:
        verdict = "breaking" if self.breaking else "compatible"
        where = f"{self.where}: " if self.where else ""
        return f"{self.subject}: {where}{self.detail} [{self.rule}, {verdict}]"


def compare(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every difference between two contract documents, calls then streams."""
    changes: list[Change] = []
    old_calls, new_calls = old.get("calls", {}), new.get("calls", {})
    for name in sorted(old_calls.keys() | new_calls.keys()):
        if name not in new_calls:
            changes.append(Change(name, "", "call removed", "call-removed"))
        elif name not in old_calls:
            changes.append(Change(name, "", "new call", "call-added"))
        else:
            changes.extend(compare_call(name, old_calls[name], new_calls[name]))
    old_streams, new_streams = old.get("streams", {}), new.get("streams", {})
    for name in sorted(old_streams.keys() | new_streams.keys()):
        if name not in new_streams:
            changes.append(Change(name, "", "stream removed", "stream-removed"))
        elif name not in old_streams:
            changes.append(Change(name, "", "new stream", "stream-added"))
        else:
            changes.extend(compare_stream(name, old_streams[name], new_streams[name]))
    return changes


def compare_call(name: str, old: Shape, new: Shape) -> list[Change]:
    changes = [Change(name, where, detail, rule) for where, detail, rule in _call_header(old, new)]
    changes += [Change(name, w, d, r) for w, d, r in _errors(old["errors"], new["errors"])]
    for direction in ("request", "response"):
        found = compare_shapes(old[direction], new[direction], direction)
        changes += [Change(name, f"{direction} {w}", d, r) for w, d, r in found]
    return changes


def compare_stream(name: str, old: Shape, new: Shape) -> list[Change]:
    changes = []
    if old["key"] != new["key"]:
        detail = f"keyed by {new['key']} instead of {old['key']}"
        changes.append(Change(name, "key", detail, "stream-key-changed"))
    if old["service"] != new["service"]:
        detail = f"produced by {new['service']} instead of {old['service']}"
        changes.append(Change(name, "service", detail, "stream-moved"))
    changes += [Change(name, f"payload {w}", d, r) for w, d, r in payload_changes(old, new)]
    return changes


def payload_changes(old: Shape, new: Shape) -> list[Found]:
    """A payload is sent and read: per field, the breaking verdicts of either
    rule set, else the first compatible one."""
    by_where: dict[str, list[Found]] = {}
    directions: tuple[Direction, ...] = ("request", "response")
    for direction in directions:
        for item in compare_shapes(old["payload"], new["payload"], direction):
            by_where.setdefault(item[0], []).append(item)
    kept: list[Found] = []
    for found in by_where.values():
        breaking = [item for item in found if RULES[item[2]]]
        kept += breaking or found[:1]
    return kept


def _call_header(old: Shape, new: Shape) -> Iterator[Found]:
    if old["http"] != new["http"]:
        yield "binding", f"{_binding(old['http'])} -> {_binding(new['http'])}", "call-rebound"
    if old["service"] != new["service"]:
        yield "service", f"served by {new['service']} instead of {old['service']}", "call-moved"
    lost, gained = differing(old["roles"], new["roles"])
    if lost:
        yield "roles", f"{', '.join(lost)} no longer allowed", "roles-narrowed"
    if gained:
        yield "roles", f"{', '.join(gained)} now allowed", "roles-widened"
    yield from _callers(old["callers"], new["callers"])
    if old["access"] != new["access"]:
        rule = "access-raised" if new["access"] == "write" else "access-lowered"
        yield "access", f"{old['access']} -> {new['access']} (scope {new['scope']})", rule
    if old["audit"] != new["audit"]:
        yield "audit", "on" if new["audit"] else "off", "audit-changed"


def _binding(http: Shape) -> str:
    return f"{http['method']} {http['path']} ({http['source']}, {http['status']})"


def _callers(old: list[str] | None, new: list[str] | None) -> Iterator[Found]:
    if old == new:
        return
    if old is None:
        yield "callers", f"only {', '.join(new or [])} may call", "callers-narrowed"
    elif new is None:
        yield "callers", "any service may call", "callers-widened"
    else:
        lost, gained = differing(old, new)
        if lost:
            yield "callers", f"{', '.join(lost)} may no longer call", "callers-narrowed"
        if gained:
            yield "callers", f"{', '.join(gained)} may now call", "callers-widened"


def _errors(old: list[Shape], new: list[Shape]) -> Iterator[Found]:
    before = {(e["status"], e["error_code"]): e for e in old}
    after = {(e["status"], e["error_code"]): e for e in new}
    for key in sorted(before.keys() | after.keys()):
        where = f"error {key[0]} {key[1]}"
        if key not in before:
            yield where, "newly declared", "error-added"
        elif key not in after:
            yield where, "no longer declared", "error-removed"
        elif before[key]["description"] != after[key]["description"]:
            yield where, "described differently", "error-described"
