"""The architecture picture as a standalone SVG: pure Python, no fonts or
scripts to fetch, so it renders in the admin, in a browser and in docs.

Units are columns of boxes holding their services (each with the streams it
produces below it), their databases under them and, at the bottom, the
kit's own streams (which every unit produces) and the shared stores; call
edges are solid arrows labelled with the calls (and their observed rate
and error rate), event edges dashed arrows from a stream to each consumer
group, store edges thin grey lines. Elements carry ``class`` and
``data-*`` attributes naming what they show::

    svg = render_svg(topology_picture(topology))
    # <g class="edge call" data-from="files" data-to="accounts">...
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from ucloud.observe.diagram import CallEdge, Picture, Store

MARGIN = 40
TITLE_H = 44
UNIT_W = 260
UNIT_GAP = 190
UNIT_HEAD = 34
SERVICE_W = 200
SERVICE_H = 40
STREAM_H = 22
ROW_GAP = 26
STORE_W = 236
STORE_H = 38
LABEL_ROOM = 200
FONT = "font-family:DejaVu Sans,Verdana,Arial,sans-serif"
COLORS = {
    "postgresql": "#336791",
    "sqlite": "#44799e",
    "redis": "#b7322c",
    "search": "#00857a",
}


@dataclass
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def mid_y(self) -> float:
        return self.y + self.h / 2

    @property
    def mid_x(self) -> float:
        return self.x + self.w / 2


class _Layout:
    """Where each unit, service, stream and store goes."""

    def __init__(self, picture: Picture) -> None:
        self.units: dict[str, Box] = {}
        self.services: dict[str, Box] = {}
        self.columns: dict[str, int] = {}
        self.streams: dict[str, Box] = {}
        self.stores: dict[str, Box] = {}
        bottom = 0.0
        self.width: float
        for index, unit in enumerate(picture.units):
            x = float(MARGIN + index * (UNIT_W + UNIT_GAP))
            y = MARGIN + TITLE_H
            inner = y + UNIT_HEAD
            for service in unit.services:
                box = Box(x + (UNIT_W - SERVICE_W) / 2, inner, SERVICE_W, SERVICE_H)
                self.services[service] = box
                self.columns[service] = index
                inner += SERVICE_H + 6
                for stream in picture.streams_of(service):
                    self.streams[stream] = Box(box.x + 24, inner, SERVICE_W - 48, STREAM_H)
                    inner += STREAM_H + 6
                inner += ROW_GAP - 6
            self.units[unit.name] = Box(x, y, UNIT_W, inner - y)
            store_y = inner + 36
            for store in unit.stores:
                self.stores[store.id] = Box(x + (UNIT_W - STORE_W) / 2, store_y, STORE_W, STORE_H)
                store_y += STORE_H + 14
            bottom = max(bottom, store_y)
        columns = max(len(picture.units), 1)
        # Room on the right for the labels of edges between services of the
        # last column, which bulge out of it.
        self.width = 2 * MARGIN + columns * UNIT_W + (columns - 1) * UNIT_GAP + LABEL_ROOM
        # The bottom row: the kit's own streams (every unit produces them),
        # then the stores all units share.
        shared_y = bottom + 40
        shared_streams = picture.shared_streams()
        count = len(shared_streams) + len(picture.shared_stores)
        total = count * (STORE_W + 40) - 40
        x = max(float(MARGIN), (self.width - total) / 2)
        for stream in shared_streams:
            middle = shared_y + (STORE_H - STREAM_H) / 2
            self.streams[stream] = Box(x + (STORE_W - SERVICE_W) / 2, middle, SERVICE_W, STREAM_H)
            x += STORE_W + 40
        for store in picture.shared_stores:
            self.stores[store.id] = Box(x, shared_y, STORE_W, STORE_H)
            x += STORE_W + 40
        self.width = max(self.width, x + MARGIN)
        self.height = (shared_y + STORE_H + MARGIN) if count else bottom + MARGIN


def _text(x: float, y: float, text: str, *, size: int = 13, anchor: str = "middle",
          weight: str = "normal", fill: str = "#222") -> str:  # fmt: skip
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
        f'font-weight="{weight}" fill="{fill}" style="{FONT}">{escape(text)}</text>'
    )


def _curve(start: tuple[float, float], end: tuple[float, float], bulge: float) -> str:
    (x1, y1), (x2, y2) = start, end
    if abs(x2 - x1) < 1:  # same column: out to the right and back
        first, second = (x1 + bulge, y1), (x2 + bulge, y2)
    else:
        middle = (x1 + x2) / 2
        first, second = (middle, y1), (middle, y2)
    return (
        f"M{x1:.1f},{y1:.1f} C{first[0]:.1f},{first[1]:.1f} "
        f"{second[0]:.1f},{second[1]:.1f} {x2:.1f},{y2:.1f}"
    )


def _anchors(source: Box, target: Box, same_column: bool) -> tuple[tuple[float, float], ...]:
    if same_column:
        return (source.x + source.w, source.mid_y), (target.x + target.w, target.mid_y)
    if target.x > source.x:
        return (source.x + source.w, source.mid_y), (target.x, target.mid_y)
    return (source.x, source.mid_y), (target.x + target.w, target.mid_y)


def _call_label(edge: CallEdge) -> list[str]:
    lines = [name.partition(".")[2] or name for name in edge.calls] or ["(calls)"]
    if edge.per_s is not None:
        lines.append(f"{edge.per_s:g}/s, {100 * (edge.error_rate or 0):.1f}% errors")
    if not edge.static:
        lines.append("observed only")
    return lines


def _call_edge(edge: CallEdge, layout: _Layout, index: int) -> str:
    source, target = layout.services.get(edge.caller), layout.services.get(edge.callee)
    if source is None or target is None:
        return ""
    same = layout.columns[edge.caller] == layout.columns[edge.callee]
    start, end = _anchors(source, target, same)
    bulge = 90 + 30 * index
    path = _curve(start, end, bulge)
    label_x = (start[0] + end[0]) / 2 + (0.75 * bulge if same else 0)
    label_y = (start[1] + end[1]) / 2 - 6
    lines = _call_label(edge)
    texts = "".join(
        _text(label_x, label_y + 14 * (i - len(lines) + 1), line, size=11, fill="#1a4d8f")
        for i, line in enumerate(lines)
    )
    return (
        f'<g class="edge call" data-from="{escape(edge.caller)}" data-to="{escape(edge.callee)}">'
        f"<title>{escape(edge.caller)} calls {escape(', '.join(edge.calls))}</title>"
        f'<path d="{path}" fill="none" stroke="#1a4d8f" stroke-width="2" '
        f'marker-end="url(#arrow-call)"/>{texts}</g>'
    )


def _event_edge(stream: str, group: str, layout: _Layout, index: int) -> str:
    source, target = layout.streams.get(stream), layout.services.get(group)
    if source is None or target is None:
        return ""
    same = abs(source.mid_x - target.mid_x) < UNIT_W / 2
    start, end = _anchors(source, target, same)
    path = _curve(start, end, 60 + 20 * index)
    return (
        f'<g class="edge event" data-from="{escape(stream)}" data-to="{escape(group)}">'
        f"<title>{escape(stream)} is consumed by the group {escape(group)}</title>"
        f'<path d="{path}" fill="none" stroke="#7a4b00" stroke-width="2" '
        f'stroke-dasharray="7 5" marker-end="url(#arrow-event)"/></g>'
    )


def _store(store: Store, box: Box) -> str:
    color = COLORS.get(store.kind, "#555")
    rim = 7
    body = (
        f'<path d="M{box.x},{box.y + rim} v{box.h - 2 * rim} '
        f'a{box.w / 2},{rim} 0 0 0 {box.w},0 v{-(box.h - 2 * rim)}" '
        f'fill="#fff" stroke="{color}" stroke-width="1.5"/>'
        f'<ellipse cx="{box.mid_x}" cy="{box.y + rim}" rx="{box.w / 2}" ry="{rim}" '
        f'fill="#fff" stroke="{color}" stroke-width="1.5"/>'
    )
    label = (
        f"{store.kind}: {store.label}" if store.kind in ("postgresql", "sqlite") else store.label
    )
    return (
        f'<g class="store" data-store="{escape(store.id)}" data-kind="{escape(store.kind)}">'
        f"{body}{_text(box.mid_x, box.y + box.h - 9, label, size=11, fill=color)}</g>"
    )


def render_svg(picture: Picture) -> str:
    layout = _Layout(picture)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{layout.width:.0f}" '
        f'height="{layout.height:.0f}" viewBox="0 0 {layout.width:.0f} {layout.height:.0f}" '
        f'role="img" aria-label="{escape(picture.title)}">',
        "<defs>"
        '<marker id="arrow-call" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#1a4d8f"/></marker>'
        '<marker id="arrow-event" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#7a4b00"/></marker></defs>',
        '<rect width="100%" height="100%" fill="#fbfbf8"/>',
        _text(MARGIN, MARGIN + 8, picture.title, size=16, anchor="start", weight="bold"),
    ]
    for unit in picture.units:
        box = layout.units[unit.name]
        parts.append(
            f'<g class="unit" data-unit="{escape(unit.name)}"><rect x="{box.x}" y="{box.y}" '
            f'width="{box.w}" height="{box.h}" rx="10" fill="#eef2f7" stroke="#8795a8"/>'
            f"{_text(box.mid_x, box.y + 22, unit.name, weight='bold', fill='#3b4a5e')}</g>"
        )
    for service, stores in sorted(picture.uses.items()):
        source = layout.services.get(service)
        for store in stores:
            target = layout.stores.get(store)
            if source is not None and target is not None:
                parts.append(
                    f'<line class="uses" data-from="{escape(service)}" data-to="{escape(store)}" '
                    f'x1="{source.mid_x}" y1="{source.y + source.h}" x2="{target.mid_x}" '
                    f'y2="{target.y}" stroke="#c3c9d1" stroke-width="1"/>'
                )
    for service, box in layout.services.items():
        parts.append(
            f'<g class="service" data-service="{escape(service)}"><rect x="{box.x}" y="{box.y}" '
            f'width="{box.w}" height="{box.h}" rx="6" fill="#ffffff" stroke="#2f5f98" '
            f'stroke-width="1.5"/>{_text(box.mid_x, box.mid_y + 5, service, size=14)}</g>'
        )
    for stream, box in layout.streams.items():
        label = picture.stream_label(stream)
        parts.append(
            f'<g class="stream" data-stream="{escape(stream)}"><rect x="{box.x}" y="{box.y}" '
            f'width="{box.w}" height="{box.h}" rx="11" fill="#fff4e0" stroke="#7a4b00"/>'
            f"{_text(box.mid_x, box.mid_y + 4, label, size=11, fill='#7a4b00')}</g>"
        )
    for store_list in [unit.stores for unit in picture.units] + [picture.shared_stores]:
        parts += [_store(store, layout.stores[store.id]) for store in store_list]
    parts += [_call_edge(edge, layout, i) for i, edge in enumerate(picture.call_edges)]
    parts += [
        _event_edge(edge.stream, edge.group, layout, i)
        for i, edge in enumerate(picture.event_edges)
    ]
    parts.append("</svg>")
    return "\n".join(part for part in parts if part) + "\n"
