"""The topology file: loading, every kind of mistake it refuses, derived values."""

from __future__ import annotations

import copy
import re

import pytest

from tests.ucloud.deploy.conftest import sample_data
from ucloud.deploy.topology import (
    TopologyError,
    database_url,
    load_topology,
    parse_topology,
)
from ucloud.management.commands.ucloud_deploy import check_services, service_namespaces


def test_project_topology_has_three_units_with_one_admin_and_one_beat(settings):
    topology = load_topology(settings.BASE_DIR / "config" / "topology.toml")

    assert [unit.name for unit in topology.units] == ["accounts", "files", "notifications"]
    assert topology.admin_unit.name == "accounts"
    assert [unit.name for unit in topology.units if unit.beat] == ["notifications"]
    assert [unit.port for unit in topology.units] == [8001, 8002, 8003]
    assert topology.gateway_port == 8080
    assert topology.unit("notifications").workers == 1
    # It deploys exactly the installed services.
    check_services(topology, set(service_namespaces()))


def test_defaults_fill_in_replicas_workers_flags_and_database(sample_topology):
    files = sample_topology.unit("files")

    assert (files.replicas, files.workers, files.beat, files.admin) == (2, 1, False, False)
    assert files.database == "ucloud_files"
    assert files.local_ports == (9002, 9102)


def test_unit_of_finds_the_unit_serving_a_service(sample_topology):
    assert sample_topology.unit_of("files").name == "files"
    with pytest.raises(KeyError):
        sample_topology.unit_of("billing")


def test_namespaces_default_to_the_service_name_and_follow_discovery(sample_topology):
    accounts = sample_topology.unit("accounts")
    assert sample_topology.namespaces_of(accounts) == ("accounts",)

    discovered = sample_topology.with_namespaces({"accounts": ("auth", "accounts")})
    assert discovered.namespaces_of(accounts) == ("accounts", "auth")


def test_missing_file_and_bad_toml_are_topology_errors(tmp_path):
    with pytest.raises(TopologyError, match="no such topology file"):
        load_topology(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[units.files\nservices = ")
    with pytest.raises(TopologyError, match="not valid TOML"):
        load_topology(broken)


def _mutated(change):
    data = copy.deepcopy(sample_data())
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["units"]["files"].update(admin=True), "exactly one unit must have admin"),
        (lambda d: d["units"]["notifications"].update(beat=False), "have beat = true, found 0"),
        (lambda d: d["units"]["files"].update(services=["accounts"]), "'accounts' is in both"),
        (lambda d: d["units"]["files"].update(port=9001), "port 9001 is used by both"),
        # files' second replica listens on 9102.
        (lambda d: d["units"]["notifications"].update(port=9102), "port 9102 is used by both"),
        (lambda d: d["gateway"].update(port=9003), "port 9003 is used by both the gateway"),
        (lambda d: d["units"]["files"].update(replicas=0), "replicas must be at least 1"),
        (lambda d: d["units"]["files"].update(workers=-1), "workers must be 0 or more"),
        (lambda d: d["units"]["files"].update(port="9002"), "port must be a port number"),
        (lambda d: d["units"]["files"].update(beat="yes"), "beat must be true or false"),
        (lambda d: d["units"]["files"].update(services=[]), "services must be a non-empty list"),
        (lambda d: d["units"]["files"].update(services=["Files!"]), "is not a service label"),
        (lambda d: d["units"]["files"].update(replica=2), "unknown key 'replica'"),
        (lambda d: d["units"]["files"].pop("port"), "port is required"),
        (lambda d: d["units"].update(Files_Unit=d["units"].pop("files")), "DNS labels"),
        (lambda d: d["units"]["files"].update(database="ucloud_accounts"), "share database"),
        (lambda d: d.update(unit={}), "unknown top-level key 'unit'"),
        (lambda d: d.pop("units"), r"no \[units.<name>\] tables"),
    ],
)
def test_inconsistent_topologies_are_refused_with_the_reason(change, message):
    with pytest.raises(TopologyError, match=message):
        parse_topology(_mutated(change), source="sample.toml")


def test_every_problem_is_reported_at_once():
    def two_mistakes(data):
        data["units"]["files"]["replicas"] = 0
        data["units"]["accounts"]["colour"] = "blue"

    with pytest.raises(TopologyError) as caught:
        parse_topology(_mutated(two_mistakes), source="sample.toml")

    assert "replicas must be at least 1" in str(caught.value)
    assert "unknown key 'colour'" in str(caught.value)
    assert str(caught.value).startswith("sample.toml: ")


def test_with_ports_moves_units_and_gateway_and_checks_again(sample_topology):
    moved = sample_topology.with_ports({"accounts": 7001}, gateway_port=7080)

    assert moved.unit("accounts").port == 7001
    assert moved.gateway_port == 7080
    with pytest.raises(TopologyError, match="port 9002 is used by both"):
        sample_topology.with_ports({"accounts": 9002})


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        ("postgres://postgres@127.0.0.1:5432/postgres", "postgres://postgres@127.0.0.1:5432/db1"),
        ("postgres://u:p@db/postgres?sslmode=require", "postgres://u:p@db/db1?sslmode=require"),
        ("sqlite:////srv/run/db.sqlite3", "sqlite:////srv/run/db1.sqlite3"),
        ("sqlite:///db.sqlite3", "sqlite:///db1.sqlite3"),
    ],
)
def test_database_url_points_the_server_url_at_the_units_database(server, expected):
    assert database_url(server, "db1") == expected


def test_default_database_names_are_valid_identifiers(sample_topology):
    for unit in sample_topology.units:
        assert re.fullmatch(r"ucloud_[a-z_]+", unit.database)
