"""Accounts controller: thin bindings from calls to ``services``."""

from __future__ import annotations

from apps.accounts import services
from apps.accounts.api import AccountDescriptions
from ucloud.rpc.context import CallContext
from ucloud.rpc.controllers import Controller, implement


class AccountController(Controller):
    @implement(AccountDescriptions.login)
    def login(self, ctx: CallContext) -> dict[str, str]:
        return services.user_login(**ctx.request, client_address=ctx.client_address)

    @implement(AccountDescriptions.refresh)
    def refresh(self, ctx: CallContext) -> dict[str, str]:
        return services.token_refresh(**ctx.request)

    @implement(AccountDescriptions.logout)
    def logout(self, ctx: CallContext) -> dict[str, str]:
        services.token_revoke(**ctx.request)
        return {}

    @implement(AccountDescriptions.change_password)
    def change_password(self, ctx: CallContext) -> dict[str, str]:
        services.user_change_password(
            username=ctx.principal.username, client_address=ctx.client_address, **ctx.request
        )
        return {}

    @implement(AccountDescriptions.whoami)
    def whoami(self, ctx: CallContext) -> dict[str, str]:
        return {"username": ctx.principal.username, "role": ctx.principal.role.value}

    @implement(AccountDescriptions.create_user)
    def create_user(self, ctx: CallContext) -> dict[str, str]:
        return services.user_info(services.user_create(**ctx.request))

    @implement(AccountDescriptions.deactivate_user)
    def deactivate_user(self, ctx: CallContext) -> dict[str, str]:
        return services.user_info(services.user_deactivate(**ctx.request))

    @implement(AccountDescriptions.retrieve_user)
    def retrieve_user(self, ctx: CallContext) -> dict[str, str]:
        return services.user_info(services.user_retrieve(**ctx.request))
