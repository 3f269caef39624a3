"""What a handler gets: the validated request, the principal, and clients.

``ctx.client`` calls onward as the same principal (checked as that user; a
SERVICE principal is forwarded, see ``ucloud.auth.credentials``);
``ctx.service_client`` calls as this service itself (a SERVICE token)::

    @implement(FileDescriptions.share)
    def share(self, ctx: CallContext) -> dict:
        return services.file_share(username=ctx.principal.username,
                                   accounts=ctx.service_client, **ctx.request)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ucloud.auth.principal import Principal
from ucloud.registry import service_of

if TYPE_CHECKING:
    from ucloud.contracts.calls import CallDescription
    from ucloud.rpc.client import RPCClient


@dataclass
class CallContext:
    call: CallDescription
    request: Any
    principal: Principal
    job_id: str
    caused_by: str | None = None
    # The end client's address, when the call came from one (throttling).
    client_address: str | None = None
    # The client class onward calls are made with (RPCClient), given by
    # whoever runs the pipeline: the client sits above the pipeline, which
    # must not import what calls it.
    clients: type[RPCClient] = field(kw_only=True)

    @cached_property
    def client(self) -> RPCClient:
        try:
            service: str | None = service_of(self.call)
        except LookupError:
            service = None  # a call declared outside any service forwards nothing
        return self.clients(
            self.principal,
            caused_by=self.job_id,
            forwarded_by=service,
            client_address=self.client_address,
        )

    @cached_property
    def service_client(self) -> RPCClient:
        return self.clients.for_service(
            service_of(self.call), caused_by=self.job_id, client_address=self.client_address
        )
