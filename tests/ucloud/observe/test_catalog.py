"""The catalog and the picture come from the registry, the source and the
topology: files.share with its roles, fields and errors; a call edge
files -> accounts; a dashed event edge files.events -> notifications."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest
from django.core.management import CommandError, call_command

from ucloud.databases import alias_for
from ucloud.deploy.topology import load_topology
from ucloud.observe.catalog import field_rows, service_catalog
from ucloud.observe.dependencies import static_call_edges
from ucloud.observe.diagram import running_picture, topology_picture
from ucloud.observe.mermaid import render_mermaid
from ucloud.observe.svg import render_svg
from ucloud.observe.units import THIS_PROCESS

TOPOLOGY = Path(__file__).resolve().parents[3] / "config" / "topology.toml"
SVG = "{http://www.w3.org/2000/svg}"


def entry(name: str):
    return next(found for found in service_catalog() if found.name == name)


def test_the_catalog_lists_files_share_with_its_binding_roles_and_errors():
    files = entry("files")
    share = next(call for call in files.calls if call["name"] == "files.share")

    assert (files.unit, files.deployment_unit) == (THIS_PROCESS, "files")
    assert files.database == alias_for("files")
    assert share["roles"] == ["USER", "ADMIN"]
    assert share["http"] == {"method": "POST", "path": "/api/files/share", "source": "body",
                             "status": 200}  # fmt: skip
    assert (share["scope"], share["audit"], share["callers"]) == ("files.share:write", True, None)
    assert [row["name"] for row in share["request_fields"]] == ["id", "username"]
    username = {"name": "username", "type": "string", "required": True, "nullable": False,
                "constraints": "allow_blank=False; max_length=150"}  # fmt: skip
    assert username in share["request_fields"]
    declared = {(e["status"], e["error_code"]) for e in share["all_errors"] if e["declared"]}
    assert declared == {(403, "not_owner"), (404, "unknown_file"), (404, "unknown_user")}
    assert (401, "token_expired") in {(e["status"], e["error_code"]) for e in share["all_errors"]}


def test_the_catalog_names_streams_processors_and_periodic_tasks():
    files, notifications = entry("files"), entry("notifications")

    assert [(s["name"], s["key"], s["groups"]) for s in files.produces] == [
        ("files.events", "file_id", ["files", "notifications"])  # files indexes its own
    ]
    assert [(c["stream"], c["producer"], c["processor"]) for c in notifications.consumes] == [
        ("files.events", "files", "apps.notifications.processors.notify_of_file_event")
    ]
    # The kit's own stream: every unit writes the records of the calls it serves.
    assert [(c["stream"], c["producer"]) for c in entry("audit").consumes] == [
        ("ucloud.audit", "every unit")
    ]
    tasks = {task["name"]: task for task in notifications.periodic_tasks}
    assert tasks["notifications.prune_read"]["every_s"] == 3600.0
    assert "ucloud.relay_sweep.notifications" in tasks
    assert not any(task["name"].endswith(".notifications") for task in files.periodic_tasks)


def test_nested_and_list_fields_are_rows_of_their_own():
    shape = {"fields": {"ids": {"type": "list", "required": True, "nullable": False,
                                "items": {"type": "integer", "limits": {"min_value": 1}}},
                        "owner": {"type": "object", "required": False, "nullable": True,
                                  "fields": {"name": {"type": "string"}}}}}  # fmt: skip

    assert [(row["name"], row["type"], row["constraints"]) for row in field_rows(shape)] == [
        ("ids", "list", ""),
        ("ids[]", "integer", "min_value=1"),
        ("owner", "object", ""),
        ("owner.name", "string", ""),
    ]


def test_call_edges_come_from_the_calls_named_in_the_source():
    # notifications imports files' api for its stream only: no call edge.
    assert static_call_edges() == {("files", "accounts"): {"accounts.retrieve_user"}}


def _edges(svg: str, kind: str) -> dict[tuple[str, str], ElementTree.Element]:
    root = ElementTree.fromstring(svg)
    return {
        (group.get("data-from", ""), group.get("data-to", "")): group
        for group in root.iter(f"{SVG}g")
        if group.get("class") == f"edge {kind}"
    }


def test_the_picture_of_the_topology_draws_calls_solid_and_events_dashed():
    svg = render_svg(topology_picture(load_topology(TOPOLOGY)))

    calls, events = _edges(svg, "call"), _edges(svg, "event")
    assert list(calls) == [("files", "accounts")]
    assert list(events) == [
        ("files.events", "files"),
        ("files.events", "notifications"),
        ("ucloud.audit", "audit"),
    ]
    assert calls[("files", "accounts")].find(f"{SVG}path").get("stroke-dasharray") is None
    assert events[("files.events", "notifications")].find(f"{SVG}path").get("stroke-dasharray")
    root = ElementTree.fromstring(svg)
    units = [g.get("data-unit") for g in root.iter(f"{SVG}g") if g.get("class") == "unit"]
    stores = {g.get("data-kind") for g in root.iter(f"{SVG}g") if g.get("class") == "store"}
    assert units == ["accounts", "files", "notifications"]
    assert stores == {"postgresql", "redis"}
    # files.events under files, in its unit; the audit stream with the shared
    # stores, below every unit, since every unit produces it.
    streams = {g.get("data-stream"): g for g in root.iter(f"{SVG}g") if g.get("class") == "stream"}
    assert set(streams) == {"files.events", "ucloud.audit"}
    audit_stream = streams["ucloud.audit"]
    assert "".join(audit_stream.itertext()) == "ucloud.audit (every unit)"
    lowest_unit = max(
        float(rect.get("y", 0)) + float(rect.get("height", 0))
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "unit"
        for rect in g.iter(f"{SVG}rect")
    )
    assert float(audit_stream.find(f"{SVG}rect").get("y")) > lowest_unit
    # Nothing to fetch: no external reference, no script.
    assert "<script" not in svg
    assert 'href="http' not in svg


def test_the_running_picture_adds_observed_rates_to_the_edges():
    observed = [{"side": "client", "caller": "files", "service": "accounts",
                 "call": "accounts.retrieve_user", "transport": "remote",
                 "recent_per_s": 2.0, "recent": {"error_rate": 0.25}}]  # fmt: skip
    described = {"databases": {"default": {"vendor": "sqlite", "name": "db.sqlite3"}},
                 "redis": False, "search": ""}  # fmt: skip

    picture = running_picture(
        [(THIS_PROCESS, ["accounts", "files", "notifications"], described)], observed
    )

    (edge,) = picture.call_edges
    assert (edge.caller, edge.callee, edge.per_s, edge.error_rate) == ("files", "accounts", 2.0,
                                                                        0.25)  # fmt: skip
    assert "2/s, 25.0% errors" in render_svg(picture)
    assert [unit.name for unit in picture.units] == [THIS_PROCESS]


def test_mermaid_has_the_same_edges():
    text = render_mermaid(topology_picture(load_topology(TOPOLOGY)))

    assert text.startswith("flowchart LR\n")
    assert 'svc_files -->|"retrieve_user"| svc_accounts' in text
    assert "stream_files_events -.-> svc_notifications" in text
    assert 'stream_ucloud_audit(["ucloud.audit (every unit)"])' in text
    assert "stream_ucloud_audit -.-> svc_audit" in text
    assert "svc_audit --- store_redis" in text  # it reads the stream from Redis
    assert 'subgraph unit_files["files"]' in text


def test_the_diagram_command_writes_svg_and_mermaid(tmp_path):
    call_command("ucloud_diagram", "--format", "svg", "--out", str(tmp_path / "a.svg"))
    call_command("ucloud_diagram", "--format", "mermaid", "--out", str(tmp_path / "a.mmd"))

    assert _edges((tmp_path / "a.svg").read_text(), "call")
    assert "-.->" in (tmp_path / "a.mmd").read_text()


def test_the_diagram_command_refuses_a_missing_topology(tmp_path):
    with pytest.raises(CommandError, match="no such topology file"):
        call_command("ucloud_diagram", "--topology", str(tmp_path / "nothing.toml"))
