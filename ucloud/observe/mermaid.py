"""The architecture picture as a Mermaid flowchart, for Markdown docs.

Units are subgraphs holding their services; call edges solid (``-->``),
event edges dotted (``-.->``) from a stream node to each consumer group,
stores as cylinders::

    print(render_mermaid(topology_picture(topology)))
    # flowchart LR
    #   subgraph unit_accounts["accounts"] ...
    #   svc_files -->|"retrieve_user"| svc_accounts
"""

from __future__ import annotations

import re

from ucloud.observe.diagram import Picture


def _id(prefix: str, name: str) -> str:
    return f"{prefix}_{re.sub(r'[^A-Za-z0-9_]', '_', name)}"


def _label(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def render_mermaid(picture: Picture) -> str:
    lines = ["flowchart LR"]
    for unit in picture.units:
        lines.append(f"  subgraph {_id('unit', unit.name)}[{_label(unit.name)}]")
        for service in unit.services:
            lines.append(f"    {_id('svc', service)}[{_label(service)}]")
            for stream in picture.streams_of(service):
                lines.append(f"    {_id('stream', stream)}([{_label(stream)}])")
                lines.append(f"    {_id('svc', service)} --- {_id('stream', stream)}")
        for kept in unit.stores:
            label = _label(f"{kept.kind}: {kept.label}")
            lines.append(f"    {_id('store', kept.id)}[({label})]")
        lines.append("  end")
    for stream in picture.shared_streams():
        lines.append(f"  {_id('stream', stream)}([{_label(picture.stream_label(stream))}])")
    for store in picture.shared_stores:
        lines.append(f"  {_id('store', store.id)}[({_label(store.label)})]")
    for edge in picture.call_edges:
        text = ", ".join(name.partition(".")[2] or name for name in edge.calls) or "calls"
        if edge.per_s is not None:
            text += f" ({edge.per_s:g}/s, {100 * (edge.error_rate or 0):.1f}% errors)"
        lines.append(f"  {_id('svc', edge.caller)} -->|{_label(text)}| {_id('svc', edge.callee)}")
    for event in picture.event_edges:
        lines.append(f"  {_id('stream', event.stream)} -.-> {_id('svc', event.group)}")
    for service, store_ids in sorted(picture.uses.items()):
        for store_id in store_ids:
            lines.append(f"  {_id('svc', service)} --- {_id('store', store_id)}")
    return "\n".join(lines) + "\n"
