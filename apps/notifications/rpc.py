"""Notifications controller: thin bindings from calls to ``services``."""

from __future__ import annotations

from typing import Any

from apps.notifications import services
from apps.notifications.api import NotificationDescriptions
from ucloud.rpc.context import CallContext
from ucloud.rpc.controllers import Controller, implement


class NotificationController(Controller):
    @implement(NotificationDescriptions.browse)
    def browse(self, ctx: CallContext) -> dict[str, Any]:
        return services.notification_browse(username=ctx.principal.username, **ctx.request)

    @implement(NotificationDescriptions.mark_read)
    def mark_read(self, ctx: CallContext) -> dict[str, int]:
        updated = services.notification_mark_read(username=ctx.principal.username, **ctx.request)
        return {"updated": updated}
