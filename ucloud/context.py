"""What a handler gets: the validated request, the principal, and clients.

``ctx.client`` calls onward as the same principal (checked as that user);
``ctx.service_client`` calls as this service itself (a SERVICE token)::

    @implement(FileDescriptions.share)
    def share(self, ctx: CallContext) -> dict:
        return services.file_share(username=ctx.principal.username,
                                   accounts=ctx.service_client, **ctx.request)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ucloud.principal import Principal

if TYPE_CHECKING:
    from ucloud.calls import CallDescription
    from ucloud.client import RPCClient


@dataclass
class CallContext:
    call: CallDescription
    request: Any
    principal: Principal
    job_id: str
    caused_by: str | None = None

    @cached_property
    def client(self) -> RPCClient:
        from ucloud.client import RPCClient

        return RPCClient(self.principal, caused_by=self.job_id)

    @cached_property
    def service_client(self) -> RPCClient:
        from ucloud.client import RPCClient
        from ucloud.registry import service_of

        return RPCClient.for_service(service_of(self.call), caused_by=self.job_id)
