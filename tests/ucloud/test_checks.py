"""The kit's system checks: the real project passes them all, and each error
is provoked by deliberately bad code (``tests/check_examples`` or classes
declared inside a test, removed from the kit's registries afterwards)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.checks import Error, run_checks
from django.core.checks.registry import registry as check_registry
from django.core.management import call_command
from django.test import override_settings
from rest_framework import serializers

from apps.files.api import FileDescriptions
from tests.check_examples import relations
from tests.check_examples.services import example_sources
from ucloud import checks
from ucloud.checks import ServiceSource
from ucloud.contracts import calls as kit_calls
from ucloud.contracts.bindings import HttpBinding, http_browse, http_create, http_delete
from ucloud.contracts.calls import CallDescriptionContainer, Empty, call
from ucloud.contracts.roles import Role
from ucloud.rpc import implementations as kit_implementations
from ucloud.rpc.context import CallContext
from ucloud.rpc.controllers import Controller, implement

ALL_CHECKS = [
    checks.check_duplicate_implementations,
    checks.check_unimplemented_calls,
    checks.check_service_imports,
    checks.check_cross_service_relations,
    checks.check_served_services,
    checks.check_route_collisions,
    checks.check_route_controllers,
    checks.check_service_databases,
    checks.check_cross_database_relations,
]

EXAMPLES = "tests.check_examples.services"


@pytest.fixture
def kit_registries():
    """Undo whatever containers and controllers a test declares."""
    implementations = {c: list(found) for c, found in kit_implementations._implementations.items()}
    containers = dict(kit_calls._containers)
    yield
    kit_implementations._implementations.clear()
    kit_implementations._implementations.update(implementations)
    kit_calls._containers.clear()
    kit_calls._containers.update(containers)


class Ping(serializers.Serializer):
    message = serializers.CharField()


@pytest.fixture
def examples(kit_registries):
    """A contract declared by no service: ``examples.send`` and ``examples.post``
    are both bound to POST /api/examples."""

    class ExampleDescriptions(CallDescriptionContainer):
        namespace = "examples"
        send = call(request=Ping, response=Empty, http=http_create())
        post = call(request=Ping, response=Empty, http=http_create())
        browse = call(request=Empty, response=Ping, http=http_browse())
        remove = call(request=Ping, response=Empty, http=http_delete())

    return ExampleDescriptions


# ---------------------------------------------------------------- the project


def test_every_check_is_registered_under_the_ucloud_tag():
    registered = {check for check in check_registry.get_checks() if "ucloud" in check.tags}

    assert set(ALL_CHECKS) <= registered


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda check: check.__name__)
def test_the_project_passes_the_check(check):
    assert check() == []


def test_the_project_passes_run_checks_with_the_ucloud_tag():
    assert run_checks(tags=["ucloud"]) == []


# ---------------------------------------------------------------- E001


def test_a_call_implemented_by_two_controllers_is_an_error(examples):
    class FirstController(Controller):
        @implement(examples.send)
        def send(self, ctx: CallContext) -> dict[str, str]:
            return {}

    class SecondController(Controller):
        @implement(examples.send)
        def send_again(self, ctx: CallContext) -> dict[str, str]:
            return {}

    where = "tests.ucloud.test_checks.test_a_call_implemented_by_two_controllers_is_an_error"
    assert checks.check_duplicate_implementations() == [
        Error(
            "Call examples.send is implemented 2 times: "
            f"{where}.<locals>.FirstController.send and "
            f"{where}.<locals>.SecondController.send_again.",
            hint=(
                "Keep exactly one method decorated with @implement(tests.ucloud.test_checks."
                "examples.<locals>.ExampleDescriptions.send) and remove the others; only "
                f"{where}.<locals>.FirstController.send would ever be called."
            ),
            id="ucloud.E001",
        )
    ]


def test_duplicate_implementations_on_explicit_input_name_every_method():
    class Left:
        pass

    class Right:
        pass

    found = checks.check_duplicate_implementations(
        implementations={
            FileDescriptions.create: [(Left, "create"), (Right, "make"), (Right, "add")],
            FileDescriptions.browse: [(Left, "browse")],
        }
    )

    assert [error.id for error in found] == ["ucloud.E001"]
    assert found[0].msg == (
        "Call files.create is implemented 3 times: "
        "tests.ucloud.test_checks.test_duplicate_implementations_on_explicit_input_name_every_"
        "method.<locals>.Left.create, tests.ucloud.test_checks.test_duplicate_implementations_"
        "on_explicit_input_name_every_method.<locals>.Right.make and tests.ucloud.test_checks."
        "test_duplicate_implementations_on_explicit_input_name_every_method.<locals>.Right.add."
    )


# ---------------------------------------------------------------- E002


def test_an_unimplemented_call_of_a_declared_contract_is_an_error(examples):
    class ExampleController(Controller):
        @implement(examples.send)
        def send(self, ctx: CallContext) -> dict[str, str]:
            return {}

        @implement(examples.post)
        def post_it(self, ctx: CallContext) -> dict[str, str]:
            return {}

    container = "tests.ucloud.test_checks.examples.<locals>.ExampleDescriptions"
    assert checks.check_unimplemented_calls(declared=[examples]) == [
        Error(
            f"Call examples.{name} is declared in {container} but no controller "
            "implements it; it would answer 404 not_implemented.",
            hint=(
                "Add a method decorated with "
                f"@implement(examples.<locals>.ExampleDescriptions.{name}) to a Controller "
                "in the service's rpc module, or remove the call from the contract."
            ),
            id="ucloud.E002",
        )
        for name in ("browse", "remove")
    ]


def test_every_files_call_is_reported_when_nothing_implements_them():
    found = checks.check_unimplemented_calls(declared=[FileDescriptions], implementations={})

    assert [error.msg.split()[1] for error in found] == [
        c.full_name for c in FileDescriptions.calls()
    ]
    assert found[0].msg == (
        "Call files.create is declared in apps.files.api.FileDescriptions but no controller "
        "implements it; it would answer 404 not_implemented."
    )
    assert {error.id for error in found} == {"ucloud.E002"}


def test_contracts_outside_installed_services_are_not_required_to_be_implemented(examples):
    # ``examples`` has four unimplemented calls but lives in a test module.
    assert checks.check_unimplemented_calls() == []


# ---------------------------------------------------------------- E003


def _import_error(file: str, line: int, importer: str, target: str, owner: str) -> Error:
    return Error(
        f"{file}:{line}: service '{importer}' imports {target}, which belongs to service "
        f"'{owner}'; only {EXAMPLES}.{owner}.api may be imported from another service.",
        hint=(
            f"Import {EXAMPLES}.{owner}.api instead and make its calls with an RPC client: "
            f"service '{owner}' may run in another process with another database. Code both "
            "services need belongs in the kit."
        ),
        id="ucloud.E003",
    )


def test_importing_another_services_modules_other_than_its_api_is_an_error():
    folder = "tests/check_examples/services"
    billing = f"{EXAMPLES}.billing"

    assert checks.check_service_imports(sources=example_sources()) == [
        _import_error(
            f"{folder}/shop/reports/__init__.py", 5, "shop", f"{billing}.invoices", "billing"
        ),
        _import_error(f"{folder}/shop/services.py", 10, "shop", f"{billing}.models", "billing"),
        _import_error(f"{folder}/shop/services.py", 11, "shop", f"{billing}.invoices", "billing"),
        _import_error(
            f"{folder}/shop/services.py", 13, "shop", f"{billing}.models.Invoice", "billing"
        ),
        _import_error(
            f"{folder}/shop/services.py", 17, "shop", f"{billing}.models.Payment", "billing"
        ),
        _import_error(f"{folder}/billing/invoices.py", 7, "billing", f"{EXAMPLES}.shop", "shop"),
        _import_error(
            f"{folder}/billing/invoices.py", 17, "billing", f"{EXAMPLES}.shop.models.Order", "shop"
        ),
    ]


def test_the_import_check_finds_a_files_module_importing_accounts_models(tmp_path: Path):
    # A copy of the files service that forgot the rule, laid out like the project.
    folder = tmp_path / "apps" / "files"
    folder.mkdir(parents=True)
    (folder / "services.py").write_text(
        "from apps.accounts.api import AccountDescriptions\n"
        "from apps.accounts import api\n"
        "import apps.accounts.api\n"
        "from apps.accounts.models import User\n",
        encoding="utf-8",
    )
    accounts = ServiceSource.of(apps.get_app_config("accounts"))
    files = ServiceSource(label="files", package="apps.files", path=folder)

    found = checks.check_service_imports(sources=[accounts, files])

    assert [error.msg for error in found] == [
        "apps/files/services.py:4: service 'files' imports "
        "apps.accounts.models.User, which belongs to service 'accounts'; only "
        "apps.accounts.api may be imported from another service."
    ]


def test_the_import_check_can_be_limited_to_the_given_app_configs():
    assert checks.check_service_imports(app_configs=[apps.get_app_config("files")]) == []


# ---------------------------------------------------------------- E004


def _relation_error(field: str, kind: str, target: str, service: str) -> Error:
    return Error(
        f"{field} is a {kind} to {target}, a model of service '{service}'; services must not "
        "share tables, they may run with separate databases.",
        hint=(
            "Store the other side's key (e.g. a username or id) in a plain field and read the "
            f"object through the api of service '{service}' with an RPC client."
        ),
        id="ucloud.E004",
    )


def test_relations_to_models_of_another_service_are_errors():
    found = checks.check_cross_service_relations(
        model_classes=relations.SHOP_AND_BILLING, services={"shop", "billing"}
    )

    assert found == [
        _relation_error("shop.Order.customer", "ForeignKey", "billing.Customer", "billing"),
        _relation_error(
            "shop.Order.billing_contact", "OneToOneField", "billing.Customer", "billing"
        ),
        _relation_error("shop.Order.watchers", "ManyToManyField", "billing.Customer", "billing"),
        _relation_error(
            "shop.VipCustomer.customer_ptr", "OneToOneField", "billing.Customer", "billing"
        ),
    ]


def test_relations_are_allowed_when_neither_side_is_another_service():
    # Order -> Group (auth is not a service) and Order -> self, Parcel -> Order
    # are among the examples; with no services at all nothing is reported.
    assert (
        checks.check_cross_service_relations(
            model_classes=relations.SHOP_AND_BILLING, services=set()
        )
        == []
    )


def test_a_files_model_pointing_at_auth_user_model_is_an_error_as_accounts_owns_it():
    assert settings.AUTH_USER_MODEL == "accounts.User"

    found = checks.check_cross_service_relations(model_classes=[relations.Document])

    assert found == [
        _relation_error("files.Document.owner", "ForeignKey", "accounts.User", "accounts")
    ]


# ---------------------------------------------------------------- E005


def test_serving_a_service_that_is_not_installed_is_an_error():
    assert checks.check_served_services(wanted=["files", "billing"]) == [
        Error(
            "UCLOUD['SERVICES'] names billing, which is not an installed service.",
            hint=(
                "Installed services: accounts, audit, files, notifications. Fix UCLOUD_SERVICES "
                "(or UCLOUD['SERVICES']), or add the service's app to INSTALLED_APPS."
            ),
            id="ucloud.E005",
        )
    ]


def test_the_served_services_check_reads_the_ucloud_setting():
    with override_settings(UCLOUD={**settings.UCLOUD, "SERVICES": "files, shop, billing"}):
        found = checks.check_served_services()

    assert [error.msg for error in found] == [
        "UCLOUD['SERVICES'] names shop and billing, which are not installed services."
    ]


def test_manage_py_check_reports_an_unknown_served_service_as_e005_not_a_traceback():
    env = {
        **os.environ,
        "UCLOUD_SERVICES": "files,billing",
        "DJANGO_SETTINGS_MODULE": "tests.settings",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 1
    assert "(ucloud.E005) UCLOUD['SERVICES'] names billing" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("wanted", [["files"], ["accounts", "files"], "all", ""])
def test_serving_installed_services_or_all_is_fine(wanted):
    assert checks.check_served_services(wanted=wanted) == []


# ---------------------------------------------------------------- E006, E007


def test_two_calls_bound_to_the_same_method_and_path_are_an_error(examples):
    assert checks.check_route_collisions() == [
        Error(
            "POST /api/examples is bound to 2 calls: examples.send and examples.post; "
            "a request could reach only one of them.",
            hint=(
                "Give all but one of them another http binding (a different subpath or "
                "method), e.g. http=http_update('<operation>')."
            ),
            id="ucloud.E006",
        )
    ]


def test_a_call_of_another_container_colliding_with_files_browse_is_an_error(kit_registries):
    class Listing(CallDescriptionContainer):
        namespace = "files.browse"
        everything = call(request=Empty, response=Empty, http=HttpBinding("GET"))

    found = checks.check_route_collisions(calls=[*FileDescriptions.calls(), *Listing.calls()])

    assert [error.msg for error in found] == [
        "GET /api/files/browse is bound to 2 calls: files.browse and files.browse.everything; "
        "a request could reach only one of them."
    ]


def test_calls_sharing_a_path_implemented_by_two_controllers_are_an_error(examples):
    class Sending(Controller):
        @implement(examples.send)
        def send(self, ctx: CallContext) -> dict[str, str]:
            return {}

    class Removing(Controller):
        @implement(examples.remove)
        def remove(self, ctx: CallContext) -> dict[str, str]:
            return {}

    assert checks.check_route_controllers() == [
        Error(
            "/api/examples is served by 2 controllers: "
            "test_calls_sharing_a_path_implemented_by_two_controllers_are_an_error.<locals>."
            "Sending (examples.send) and "
            "test_calls_sharing_a_path_implemented_by_two_controllers_are_an_error.<locals>."
            "Removing (examples.remove).",
            hint="Implement every call bound to one path in the same Controller class.",
            id="ucloud.E007",
        )
    ]


def test_no_test_leaves_its_example_contracts_or_controllers_behind():
    # Runs after the tests above (file order): their ``kit_registries`` teardown
    # must have removed every example container and implementation.
    assert "examples" not in kit_calls.containers()
    assert not any(c.namespace == "examples" for c in kit_implementations.implementations())


# ---------------------------------------------------------------- E008


def _alias_error(line: int, how: str) -> Error:
    return Error(
        f"tests/check_examples/services/shop/ledger.py:{line}: service 'shop' names the "
        f"database of service 'billing' ({how}); each service reads and writes only its own "
        "database.",
        hint=(
            "Ask service 'billing' through its api with an RPC client (or consume its events). "
            "For the own database use ucloud.databases.atomic('shop') or alias_for('shop')."
        ),
        id="ucloud.E008",
    )


def test_naming_another_services_database_alias_is_an_error_however_it_is_named():
    assert checks.check_service_databases(sources=example_sources()) == [
        _alias_error(16, 'using="billing"'),
        _alias_error(17, '.using("billing")'),
        _alias_error(18, 'atomic("billing")'),
        _alias_error(19, '.db_manager("billing")'),
        _alias_error(20, 'atomic("billing")'),
        _alias_error(22, 'connections["billing"]'),
        _alias_error(24, 'alias_for("billing")'),
    ]


def test_a_files_module_opening_a_transaction_on_accounts_database_is_an_error(tmp_path: Path):
    folder = tmp_path / "apps" / "files"
    folder.mkdir(parents=True)
    (folder / "services.py").write_text(
        "from django.db import transaction\n"
        "from ucloud.databases import atomic\n"
        "with atomic('files'):\n"
        "    pass\n"
        "with transaction.atomic(using='accounts'):\n"
        "    pass\n",
        encoding="utf-8",
    )
    accounts = ServiceSource.of(apps.get_app_config("accounts"))
    files = ServiceSource(label="files", package="apps.files", path=folder)

    found = checks.check_service_databases(sources=[accounts, files])

    assert [error.msg for error in found] == [
        "apps/files/services.py:5: service 'files' names the database of service 'accounts' "
        '(using="accounts"); each service reads and writes only its own database.'
    ]


def test_the_real_services_name_only_their_own_database():
    # files and accounts open transactions with atomic("files") / atomic("accounts").
    assert checks.check_service_databases() == []


# ---------------------------------------------------------------- E009


def _database_relation_error(field: str, kind: str, target: str, own: str, where: str) -> Error:
    return Error(
        f"{field} is a {kind} to {target}, whose table lives with {where}, not in the database "
        f"of service '{own}'; the relation breaks once '{own}' has its own database.",
        hint=(
            "Store the key of the other row in a plain field (e.g. a group name or id) and "
            "resolve it where that data lives, through an api call."
        ),
        id="ucloud.E009",
    )


def test_a_relation_to_auth_group_from_a_service_other_than_accounts_is_an_error():
    found = checks.check_cross_database_relations(
        model_classes=relations.SHOP_AND_BILLING,
        services={"shop", "billing", "accounts"},
        user_app="accounts",
    )

    # The cross-service relations of these models are E004, not repeated here.
    assert found == [
        _database_relation_error(
            "shop.Order.group", "ForeignKey", "auth.Group", "shop", "service 'accounts'"
        )
    ]


def test_a_files_model_pointing_at_content_types_is_an_error_as_they_live_with_accounts():
    found = checks.check_cross_database_relations(
        model_classes=[relations.Attachment, relations.Membership]
    )

    assert found == [
        _database_relation_error(
            "files.Attachment.content_type",
            "ForeignKey",
            "contenttypes.ContentType",
            "files",
            "service 'accounts'",
        )
    ]


def test_without_a_user_model_service_auth_lives_on_the_default_database():
    found = checks.check_cross_database_relations(
        model_classes=[relations.Membership], services={"accounts"}, user_app="auth"
    )

    assert found == [
        _database_relation_error(
            "accounts.Membership.group",
            "ForeignKey",
            "auth.Group",
            "accounts",
            "the default database",
        )
    ]


# ---------------------------------------------------------------- E011, W011


def test_the_contracts_check_runs_with_the_deployment_checks_only():
    deploy = set(check_registry.get_checks(include_deployment_checks=True))
    assert checks.check_contracts_lock in deploy
    assert checks.check_contracts_lock not in set(check_registry.get_checks())


def test_the_committed_lockfile_passes_the_contracts_check():
    assert checks.check_contracts_lock() == []


def test_a_breaking_change_against_the_lockfile_is_an_error(tmp_path, monkeypatch):
    path = tmp_path / "contracts.lock"
    call_command("ucloud_contracts", "--write", "--lockfile", str(path))
    monkeypatch.setattr(FileDescriptions.retrieve, "roles", frozenset({Role.ADMIN}))

    assert checks.check_contracts_lock(lockfile=path) == [
        Error(
            "files.retrieve: roles: USER no longer allowed [roles-narrowed, breaking]",
            hint=(
                "Revert the change, or accept it: manage.py ucloud_contracts --accept "
                "files.retrieve --reason '...'"
            ),
            id="ucloud.E011",
        )
    ]


def test_no_lockfile_is_a_warning(tmp_path):
    found = checks.check_contracts_lock(lockfile=tmp_path / "contracts.lock")
    assert [message.id for message in found] == ["ucloud.W011"]
    assert "cannot be detected" in found[0].msg
