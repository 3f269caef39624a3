"""Files controller: thin bindings from calls to ``services``."""

from __future__ import annotations

from typing import Any

from apps.files import services
from apps.files.api import FileDescriptions
from ucloud.rpc.context import CallContext
from ucloud.rpc.controllers import Controller, implement


class FileController(Controller):
    @implement(FileDescriptions.create)
    def create(self, ctx: CallContext) -> dict[str, Any]:
        return services.file_create(owner=ctx.principal.username, **ctx.request)

    @implement(FileDescriptions.browse)
    def browse(self, ctx: CallContext) -> dict[str, Any]:
        return services.file_browse(username=ctx.principal.username, **ctx.request)

    @implement(FileDescriptions.search)
    def search(self, ctx: CallContext) -> dict[str, Any]:
        return services.file_search(username=ctx.principal.username, **ctx.request)

    @implement(FileDescriptions.retrieve)
    def retrieve(self, ctx: CallContext) -> dict[str, Any]:
        return services.file_retrieve(username=ctx.principal.username, **ctx.request)

    @implement(FileDescriptions.move)
    def move(self, ctx: CallContext) -> dict[str, Any]:
        return services.file_move(username=ctx.principal.username, **ctx.request)

    @implement(FileDescriptions.delete)
    def delete(self, ctx: CallContext) -> dict[str, Any]:
        services.file_delete(username=ctx.principal.username, **ctx.request)
        return {}

    @implement(FileDescriptions.share)
    def share(self, ctx: CallContext) -> dict[str, Any]:
        return services.file_share(
            username=ctx.principal.username,
            id=ctx.request["id"],
            target=ctx.request["username"],
            accounts=ctx.service_client,
        )
