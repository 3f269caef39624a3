"""What a query of the audit trail asks, whichever store answers it.

Both calls come down to one ``AuditQuery``: lists of accepted values per
field (empty: any), a time range, and a page after a position::

    query = AuditQuery(usernames=["alice"], statuses=[401, 403], size=50)
    query = AuditQuery.from_request(validated_request)
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ucloud.contracts.errors import BadRequest


@dataclass(frozen=True)
class AuditQuery:
    usernames: list[str] = field(default_factory=list)
    # Exact names; "files.*" means every call of the namespace.
    calls: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    job_id: str | None = None
    caused_by: str | None = None
    since: datetime.datetime | None = None
    until: datetime.datetime | None = None
    size: int = 50
    # The last record of the previous page: (time, event id).
    after: tuple[datetime.datetime, str] | None = None

    @classmethod
    def from_request(cls, request: Mapping[str, Any]) -> AuditQuery:
        def listed(single: str, many: str) -> list[Any]:
            value = request.get(single)
            return [value] if value is not None else list(request.get(many) or [])

        return cls(
            usernames=listed("username", "usernames"),
            calls=listed("call", "calls"),
            statuses=listed("status", "statuses"),
            job_id=request.get("job_id"),
            caused_by=request.get("caused_by"),
            since=request.get("since"),
            until=request.get("until"),
            size=int(request.get("items_per_page", 50)),
            after=parse_token(request.get("next")),
        )

    def exact_calls(self) -> list[str]:
        return [name for name in self.calls if not name.endswith(".*")]

    def call_prefixes(self) -> list[str]:
        return [name[:-1] for name in self.calls if name.endswith(".*")]


EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
MICROSECOND = datetime.timedelta(microseconds=1)


def token(time: datetime.datetime, event_id: str) -> str:
    """The page token after a record (exact: integer microseconds)."""
    return f"{(time - EPOCH) // MICROSECOND}_{event_id}"


def parse_token(value: str | None) -> tuple[datetime.datetime, str] | None:
    if not value:
        return None
    micros, _, event_id = value.partition("_")
    try:
        time = EPOCH + int(micros) * MICROSECOND
    except (ValueError, OverflowError, OSError) as exc:
        raise BadRequest(
            "Invalid page token", error_code="invalid_request", errors={"next": [str(exc)]}
        ) from exc
    return time, event_id
