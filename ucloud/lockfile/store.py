"""``contracts.lock``: the committed record of every call and stream as shipped.

Plain JSON, keys sorted, two-space indents and a final newline, so that the
same code always writes the same bytes and a review shows each change. A
breaking change enters it only through ``accept``, which records why next to
the new contract::

    lock = Lockfile.read(Path("contracts.lock"))
    lock.accept("files.retrieve", reason="size moved to files.stat",
                changes=breaking_changes, current=describe_contracts())
    lock.write(Path("contracts.lock"))
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ucloud.lockfile.rules import Change

LOCKFILE_NAME = "contracts.lock"
FORMAT = 1
ABOUT = (
    "Every call and stream as shipped. `manage.py ucloud_contracts --check` compares the code "
    "with it; `--write` records compatible changes; `--accept NAME --reason TEXT` records a "
    "breaking one. Generated: do not edit by hand."
)


class LockfileError(ValueError):
    """The lockfile is missing, is not JSON, or is of another format."""


@dataclass
class Lockfile:
    """The recorded contracts and the breaking changes accepted so far."""

    calls: dict[str, Any] = field(default_factory=dict)
    streams: dict[str, Any] = field(default_factory=dict)
    accepted: list[dict[str, Any]] = field(default_factory=list)

    @property
    def contracts(self) -> dict[str, Any]:
        return {"calls": self.calls, "streams": self.streams}

    @classmethod
    def read(cls, path: Path) -> Lockfile:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise LockfileError(f"{path}: no lockfile; write one with --write") from None
        except ValueError as exc:
            raise LockfileError(f"{path}: not JSON ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise LockfileError(f"{path}: not a contracts lockfile of format {FORMAT}")
        return cls(
            calls=dict(data.get("calls", {})),
            streams=dict(data.get("streams", {})),
            accepted=list(data.get("accepted", [])),
        )

    def text(self) -> str:
        data = {
            "about": ABOUT,
            "format": FORMAT,
            "calls": self.calls,
            "streams": self.streams,
            "accepted": self.accepted,
        }
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    def write(self, path: Path) -> None:
        path.write_text(self.text(), encoding="utf-8")

    def record(self, current: Mapping[str, Any]) -> None:
        """Take every contract of ``current`` (the accepted history stays)."""
        self.calls = dict(current["calls"])
        self.streams = dict(current["streams"])

    def accept(
        self, name: str, *, reason: str, changes: Sequence[Change], current: Mapping[str, Any]
    ) -> None:
        """Record the breaking ``changes`` of ``name`` as accepted for
        ``reason`` and take its current contract (none, when it was removed)."""
        for section, recorded in (("calls", self.calls), ("streams", self.streams)):
            now = current[section]
            if name in now:
                recorded[name] = now[name]
            else:
                recorded.pop(name, None)
        self.accepted.append(
            {"name": name, "reason": reason, "changes": [change.text for change in changes]}
        )
