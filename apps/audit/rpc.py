"""Audit controller: thin bindings from calls to ``services``."""

from __future__ import annotations

from typing import Any

from apps.audit import services
from apps.audit.api import AuditDescriptions
from apps.audit.filters import AuditQuery
from ucloud.rpc.context import CallContext
from ucloud.rpc.controllers import Controller, implement


class AuditController(Controller):
    @implement(AuditDescriptions.browse)
    def browse(self, ctx: CallContext) -> dict[str, Any]:
        return services.audit_query(query=AuditQuery.from_request(ctx.request))

    @implement(AuditDescriptions.search)
    def search(self, ctx: CallContext) -> dict[str, Any]:
        return services.audit_query(query=AuditQuery.from_request(ctx.request))
