"""Recent traces for the admin: summaries to filter, one trace as a waterfall.

Built from the span records of ``ucloud.observe.spanstore``. A trace's
waterfall also holds the spans that *link* to it (a processor's span links
to the call that produced its event; a batch of events from several calls
gets a trace of its own), marked as linked::

    found = recent_traces(records, call="files.share", errors_only=False, slower_than_ms=5)
    rows = waterfall(records, found[0].trace_id)   # spans in start order, with offsets
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ucloud.observe.spanstore import Record


@dataclass
class TraceSummary:
    trace_id: str
    root: str  # the name of the span without a parent in the trace (or the first)
    start: float
    duration_ms: float
    spans: int
    errors: int
    services: list[str] = field(default_factory=list)


def _by_trace(records: Iterable[Record]) -> dict[str, list[Record]]:
    found: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        found[record["trace_id"]].append(record)
    return found


def _summary(trace_id: str, spans: list[Record]) -> TraceSummary:
    ids = {span["span_id"] for span in spans}
    roots = [span for span in spans if span["parent_id"] not in ids]
    root = min(roots or spans, key=lambda span: span["start"])
    start = min(span["start"] for span in spans)
    end = max(span["start"] + span["duration_ms"] / 1000 for span in spans)
    return TraceSummary(
        trace_id=trace_id,
        root=root["name"],
        start=start,
        duration_ms=round((end - start) * 1000, 3),
        spans=len(spans),
        errors=sum(1 for span in spans if span["error"]),
        # A span's service name names every service of its process, comma-joined.
        services=sorted({name for span in spans for name in span["service"].split(",") if name}),
    )


def recent_traces(
    records: Iterable[Record],
    *,
    call: str = "",
    errors_only: bool = False,
    slower_than_ms: float | None = None,
    limit: int = 100,
) -> list[TraceSummary]:
    """Traces, newest first: with a span named ``call`` (substring), with an
    error, or lasting longer than ``slower_than_ms``, as asked."""
    found = []
    for trace_id, spans in _by_trace(records).items():
        if call and not any(call in span["name"] for span in spans):
            continue
        summary = _summary(trace_id, spans)
        if errors_only and not summary.errors:
            continue
        if slower_than_ms is not None and summary.duration_ms <= slower_than_ms:
            continue
        found.append(summary)
    found.sort(key=lambda summary: summary.start, reverse=True)
    return found[:limit]


@dataclass
class WaterfallRow:
    span: Record
    depth: int
    # Position and width of the bar, in percent of the whole waterfall.
    offset: float
    width: float
    linked: bool  # a span of another trace that links to this one


def waterfall(records: Iterable[Record], trace_id: str) -> list[WaterfallRow]:
    """The spans of ``trace_id`` and those linking to it, parents before
    children, in start order; empty when the trace is not kept."""
    every = list(records)
    own = [span for span in every if span["trace_id"] == trace_id]
    if not own:
        return []
    ids = {span["span_id"] for span in own}
    linked = [
        span
        for span in every
        if span["trace_id"] != trace_id
        and any(link["trace_id"] == trace_id and link["span_id"] in ids for link in span["links"])
    ]
    spans = own + linked
    start = min(span["start"] for span in spans)
    end = max(span["start"] + span["duration_ms"] / 1000 for span in spans)
    total = max(end - start, 1e-9)
    rows: list[WaterfallRow] = []
    linked_ids = {span["span_id"] for span in linked}
    for span, depth in _tree_order(spans):
        offset = (span["start"] - start) / total * 100
        width = max(span["duration_ms"] / 1000 / total * 100, 0.3)
        rows.append(
            WaterfallRow(
                span, depth, round(offset, 3), round(min(width, 100 - offset), 3),
                span["span_id"] in linked_ids,
            )
        )  # fmt: skip
    return rows


def _tree_order(spans: list[Record]) -> list[tuple[Record, int]]:
    """Depth-first from each root, children by start time; a linked span
    hangs under the span it links to."""
    ids = {span["span_id"] for span in spans}
    children: dict[str, list[Record]] = defaultdict(list)
    roots = []
    for span in sorted(spans, key=lambda span: span["start"]):
        parent = span["parent_id"] if span["parent_id"] in ids else _linked_parent(span, ids)
        if parent:
            children[parent].append(span)
        else:
            roots.append(span)
    ordered: list[tuple[Record, int]] = []

    def visit(span: Record, depth: int) -> None:
        ordered.append((span, depth))
        for child in children.get(span["span_id"], []):
            visit(child, depth + 1)

    for root in roots:
        visit(root, 0)
    return ordered


def _linked_parent(span: Record, ids: set[str]) -> str:
    for link in span.get("links", []):
        if link["span_id"] in ids:
            return str(link["span_id"])
    return ""


def as_dict(summary: TraceSummary) -> dict[str, Any]:
    return {
        "trace_id": summary.trace_id,
        "root": summary.root,
        "start": summary.start,
        "duration_ms": summary.duration_ms,
        "spans": summary.spans,
        "errors": summary.errors,
        "services": summary.services,
    }
