"""``ucloud.rpc.transaction_guard``: a call to another service inside a transaction
warns in one process (the test settings make the warning an error)."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from django.db import transaction

from apps.accounts.api import AccountDescriptions
from apps.accounts.services import user_create
from apps.files.api import FileDescriptions
from ucloud.contracts.bindings import http_update
from ucloud.contracts.calls import CallDescriptionContainer, Empty, call
from ucloud.databases import atomic
from ucloud.rpc.context import CallContext
from ucloud.rpc.controllers import Controller, implement
from ucloud.rpc.transaction_guard import CrossServiceTransactionWarning
from ucloud.testing import client_for

pytestmark = pytest.mark.django_db

# Claims a module of the files app, so that the registry counts these test
# calls as files' own (the module is never imported).
FILES_MODULE = "apps.files.guard_test_contract"


@pytest.fixture
def bob() -> None:
    user_create(username="bob", password="bob-secret-1", role="USER")


@pytest.fixture
def files_handlers(kit_registries):
    """Two calls of the files service: one asks accounts inside files'
    transaction, one asks files itself."""

    class GuardDescriptions(CallDescriptionContainer):
        __module__ = FILES_MODULE
        namespace = "guard"
        ask_accounts = call(request=Empty, response=Empty, http=http_update("accounts"))
        ask_files = call(request=Empty, response=Empty, http=http_update("files"))

    class GuardController(Controller):
        @implement(GuardDescriptions.ask_accounts)
        def ask_accounts(self, ctx: CallContext) -> dict[str, Any]:
            with atomic("files"):
                AccountDescriptions.retrieve_user.call({"username": "bob"}, ctx.service_client)
            return {}

        @implement(GuardDescriptions.ask_files)
        def ask_files(self, ctx: CallContext) -> dict[str, Any]:
            with atomic("files"):
                FileDescriptions.browse.call({}, ctx.client)
            return {}

    return GuardDescriptions


def test_a_call_from_code_inside_a_transaction_warns_naming_the_call():
    alice = client_for("alice")

    with (
        pytest.warns(CrossServiceTransactionWarning) as seen,
        transaction.atomic(),
    ):
        FileDescriptions.browse.call({}, alice)

    assert str(seen[0].message).startswith(
        "Code outside any call calls files.browse inside transaction.atomic: in one process "
        "files joins that transaction"
    )


def test_a_handler_calling_another_service_inside_its_transaction_warns(files_handlers, bob):
    with pytest.warns(CrossServiceTransactionWarning, match="^files calls accounts.retrieve_user"):
        files_handlers.ask_accounts.call({}, client_for("alice"))


def test_a_handler_calling_its_own_service_inside_its_transaction_is_fine(files_handlers):
    with warnings.catch_warnings():
        warnings.simplefilter("error", CrossServiceTransactionWarning)
        files_handlers.ask_files.call({}, client_for("alice"))


def test_the_test_cases_own_transaction_does_not_count():
    # pytest-django runs this test inside atomic blocks of its own.
    assert transaction.get_connection().in_atomic_block
    with warnings.catch_warnings():
        warnings.simplefilter("error", CrossServiceTransactionWarning)
        FileDescriptions.browse.call({}, client_for("alice"))


def test_the_test_settings_make_the_warning_an_error():
    with pytest.raises(CrossServiceTransactionWarning), transaction.atomic():
        FileDescriptions.browse.call({}, client_for("alice"))
