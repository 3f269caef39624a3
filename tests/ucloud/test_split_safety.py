"""``ucloud.split_safety`` and ``manage.py ucloud_split_check``: nothing to report for
the shipped services and topology, each planted case reported with file and line
(``tests/check_examples``, lines marked SPLIT)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from tests.check_examples import relations
from tests.check_examples.services import example_sources
from tests.check_examples.services.shop import handlers
from tests.check_examples.services.shop.api import OrderFilter
from tests.check_examples.services.shop.processors import count_orders
from ucloud.contracts.bindings import http_browse, http_search, http_update
from ucloud.contracts.calls import Empty, call
from ucloud.contracts.roles import Roles
from ucloud.deploy.topology import load_topology
from ucloud.split_safety import ERROR, WARNING, Finding, split_check
from ucloud.split_safety.calls import atomic_calls, forwarded_principals, query_collections
from ucloud.split_safety.data import cross_unit_relations, shared_databases
from ucloud.split_safety.workers import idle_outboxes, idle_processors

SHOP = "tests/check_examples/services/shop"
APART = {"shop": "shop", "billing": "billing"}
TOGETHER = {"shop": "store", "billing": "store"}


def kinds(findings: list[Finding]) -> list[tuple[str, int, str, str]]:
    return [(f.file, f.line, f.kind, f.severity) for f in findings]


def line_of(path: str, text: str) -> int:
    """The line of ``path`` (relative to the project) that contains ``text``."""
    lines = (Path(settings.BASE_DIR) / path).read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def named(name: str, **options):
    described = call(response=Empty, **options)
    described.namespace, _, described.name = name.partition(".")
    return described


# ---------------------------------------------------------------- the project


def test_the_shipped_services_and_topology_report_nothing():
    topology = load_topology(Path(settings.BASE_DIR) / "config/topology.toml")
    assert split_check(topology) == []


def test_the_command_says_nothing_changes_for_the_shipped_topology(capsys):
    call_command("ucloud_split_check")
    assert capsys.readouterr().out == (
        "Nothing changes when the units of topology.toml (accounts, files, notifications) "
        "run apart.\n"
    )


def test_a_unit_without_worker_for_notifications_fails_naming_its_processor(tmp_path, capsys):
    topology = tmp_path / "topology.toml"
    topology.write_text(
        "[units.web]\n"
        'services = ["accounts", "files", "audit"]\nport = 8001\nadmin = true\nbeat = true\n'
        "[units.notifications]\n"
        'services = ["notifications"]\nport = 8003\nworkers = 0\n'
    )

    with pytest.raises(CommandError, match=r"1 place\(s\) will break when the units of"):
        call_command("ucloud_split_check", "--topology", str(topology))

    out = capsys.readouterr().out
    processor = "apps/notifications/processors.py"
    line = line_of(processor, "def notify_of_file_event")
    assert out.startswith(f"{processor}:{line}: error [idle-processor]: notify_of_file_event ")
    assert "whose unit notifications has workers = 0" in out


def test_a_topology_naming_an_unknown_service_is_refused(tmp_path):
    topology = tmp_path / "topology.toml"
    topology.write_text(
        '[units.all]\nservices = ["accounts", "files", "notifications", "audit", "billing"]\n'
        "port = 8001\nadmin = true\nbeat = true\n"
    )
    with pytest.raises(CommandError, match="unknown service"):
        call_command("ucloud_split_check", "--topology", str(topology))


# ---------------------------------------------------------------- atomic-call


def test_calls_to_another_unit_inside_a_transaction_are_errors():
    found = atomic_calls(example_sources(), APART)

    checkout = f"{SHOP}/checkout.py"
    assert kinds(found) == [
        (checkout, line_of(checkout, 'charge.call({"order": order.number}'), "atomic-call", ERROR),
        (checkout, line_of(checkout, 'charge.call({"order": -order'), "atomic-call", ERROR),
    ]
    assert found[0].message.startswith(
        "shop calls billing's charge inside transaction.atomic: together the call joins"
    )


def test_the_same_calls_within_one_unit_are_fine():
    assert atomic_calls(example_sources(), TOGETHER) == []


# ---------------------------------------------------------------- forwarded-principal


def test_a_handler_open_to_services_forwarding_its_callers_principal_is_reported():
    refund = named("shop.refund", request=Empty, roles=Roles.PRIVILEGED, http=http_update("r"))

    found = forwarded_principals([(refund, "shop", handlers.refund)], example_sources(), APART)

    module = f"{SHOP}/handlers.py"
    assert kinds(found) == [
        (
            module,
            line_of(module, 'refund.call({"order": 1}, ctx.client)'),
            "forwarded-principal",
            ERROR,
        ),
        (
            module,
            line_of(module, "_ledger_entry(client=ctx.client)"),
            "forwarded-principal",
            WARNING,
        ),
    ]
    assert "passes ctx.client to billing (unit billing)" in found[0].message
    assert "401 wrong_audience" in found[0].message


def test_forwarding_is_fine_for_user_only_calls_and_within_one_unit():
    user_only = named("shop.refund", request=Empty, roles=Roles.END_USER, http=http_update("r"))
    open_to_services = named(
        "shop.refund", request=Empty, roles=Roles.PRIVILEGED, http=http_update("r")
    )

    assert (
        forwarded_principals([(user_only, "shop", handlers.refund)], example_sources(), APART) == []
    )
    together = forwarded_principals(
        [(open_to_services, "shop", handlers.refund)], example_sources(), TOGETHER
    )
    assert [f.severity for f in together] == [WARNING]  # only where it goes is unknown


# ---------------------------------------------------------------- query-collection


def test_a_query_bound_call_with_list_or_nested_fields_is_reported_at_each_field():
    search = named("shop.search", request=OrderFilter, http=http_browse("search"))

    found = query_collections([(search, "shop")])

    api = f"{SHOP}/api.py"
    assert kinds(found) == [
        (api, line_of(api, "ids = serializers.ListField"), "query-collection", ERROR),
        (api, line_of(api, "ship_to = Address"), "query-collection", ERROR),
    ]
    assert found[0].message.startswith("shop.search reads ids (ListField) from its query string")


def test_the_same_request_in_a_body_is_fine():
    search = named("shop.search", request=OrderFilter, http=http_search())
    assert query_collections([(search, "shop")]) == []


# ---------------------------------------------------------------- idle-processor, idle-outbox


def test_processors_and_outboxes_of_a_unit_without_worker_are_reported():
    idle = {"shop": 0, "billing": 1}
    where = (f"{SHOP}/api.py", 3)

    processors = idle_processors([("shop", count_orders)], workers=idle, unit_of=APART)
    outboxes = idle_outboxes([("shop.orders", "shop", where)], workers=idle, unit_of=APART)

    module = f"{SHOP}/processors.py"
    assert kinds(processors) == [
        (module, line_of(module, "def count_orders"), "idle-processor", ERROR)
    ]
    assert kinds(outboxes) == [(*where, "idle-outbox", WARNING)]


def test_units_with_workers_run_their_processors_and_sweeps():
    busy = {"shop": 1, "billing": 1}
    assert idle_processors([("shop", count_orders)], workers=busy, unit_of=APART) == []
    assert idle_outboxes([("shop.orders", "shop", ("x", 1))], workers=busy, unit_of=APART) == []


# ---------------------------------------------------------------- cross-unit-relation


def test_relations_to_a_table_of_another_unit_are_reported_at_the_field():
    found = cross_unit_relations(relations.SHOP_AND_BILLING, APART, user_app="accounts")

    module = "tests/check_examples/relations.py"
    assert kinds(found) == [
        (module, line_of(module, "customer = models.ForeignKey"), "cross-unit-relation", ERROR),
        (
            module,
            line_of(module, "billing_contact = models.OneToOneField"),
            "cross-unit-relation",
            ERROR,
        ),
        (
            module,
            line_of(module, "watchers = models.ManyToManyField"),
            "cross-unit-relation",
            ERROR,
        ),
        # The parent link of multi-table inheritance has no line of its own.
        (module, line_of(module, "class VipCustomer"), "cross-unit-relation", ERROR),
    ]


def test_a_relation_to_auth_follows_the_unit_of_the_user_model_service():
    units = {**APART, "accounts": "accounts"}
    found = cross_unit_relations([relations.Order], units, user_app="accounts")
    assert [f.message.split(" is a ")[0] for f in found] == [
        "shop.Order.customer",
        "shop.Order.billing_contact",
        "shop.Order.group",
        "shop.Order.watchers",
    ]
    assert (
        cross_unit_relations(
            [relations.Order], TOGETHER | {"accounts": "store"}, user_app="accounts"
        )
        == []
    )


# ---------------------------------------------------------------- shared-database


def database(name: str, mirror: bool = False) -> dict:
    config = {"ENGINE": "django.db.backends.postgresql", "NAME": name, "HOST": "db", "PORT": ""}
    return {**config, "TEST": {"MIRROR": "default"}} if mirror else config


def test_services_of_two_units_on_one_database_are_reported():
    databases = {
        "default": database("main"),
        "shop": database("sales"),
        "billing": database("sales"),
    }

    found = shared_databases(databases, APART, where=("config/settings.py", 7))

    assert kinds(found) == [("config/settings.py", 7, "shared-database", ERROR)]
    assert found[0].message.startswith(
        "billing (unit billing) and shop (unit shop) are configured with the same database 'sales'"
    )


def test_own_databases_mirrors_of_default_and_one_unit_are_fine():
    where = ("config/settings.py", 7)
    own = {"shop": database("sales"), "billing": database("invoices")}
    mirrors = {"shop": database("main", mirror=True), "billing": database("main", mirror=True)}
    shared = {"shop": database("sales"), "billing": database("sales")}

    assert shared_databases(own, APART, where=where) == []
    assert shared_databases(mirrors, APART, where=where) == []
    assert shared_databases(shared, TOGETHER, where=where) == []


def test_a_finding_reads_as_file_line_severity_kind_message_and_hint():
    finding = Finding("a.py", 3, "atomic-call", ERROR, "It breaks.", "Fix it.")
    assert str(finding) == "a.py:3: error [atomic-call]: It breaks.\n    Fix it."
