"""Client side of calls: who is calling, and for whom.

``RPCClient`` carries a principal (and its token); the transport is chosen
per call from the topology, so the same code works together and apart. The
callee checks the token on either transport, so an expired token or one
meant for another service fails the same way everywhere::

    client = RPCClient.for_token(access_token)          # as a user
    client = RPCClient.for_service("files")             # as the files service
    page = FileDescriptions.browse.call({"items_per_page": 10}, client)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ucloud import observers
from ucloud.auth.credentials import service_principal
from ucloud.auth.principal import GUEST, Principal
from ucloud.auth.tokens import decode_access_token
from ucloud.contracts.roles import Role
from ucloud.rpc.transports import transport_for

if TYPE_CHECKING:
    from ucloud.contracts.calls import CallDescription


class RPCClient:
    def __init__(
        self,
        principal: Principal = GUEST,
        *,
        caused_by: str | None = None,
        force_http: bool | None = None,
        forwarded_by: str | None = None,
        client_address: str | None = None,
    ) -> None:
        if principal.token is None and principal.role is not Role.GUEST and not principal.service:
            # It could never prove who it is to a callee: use for_token.
            raise ValueError(f"{principal!r} has no token to present")
        self.principal = principal
        # Job id of the call this client was made for, sent as Caused-By.
        self.caused_by = caused_by
        # None follows UCLOUD["FORCE_HTTP"]; True/False overrides it.
        self.force_http = force_http
        # The service passing on a principal that called it (ctx.client).
        self.forwarded_by = forwarded_by
        # The end client's address, for callees that throttle by it.
        self.client_address = client_address

    @classmethod
    def for_token(cls, token: str, **kwargs: Any) -> RPCClient:
        """A client acting as the holder of ``token``.

        The token is checked here, so that a bad one fails at once, and
        again by every callee (expiry, audience), whatever the transport.
        """
        return cls(decode_access_token(token, verify_audience=False), **kwargs)

    @classmethod
    def for_service(cls, service: str, **kwargs: Any) -> RPCClient:
        """A client acting as ``service`` itself (the SERVICE role).

        Each call presents a token minted for its target service, which
        needs ``service``'s private key when ``UCLOUD["KEYS_DIR"]`` is set.
        """
        return cls(service_principal(service), **kwargs)

    @property
    def caller(self) -> str | None:
        """The service making calls with this client, if any (for metrics)."""
        return self.forwarded_by or self.principal.service

    def call(self, call: CallDescription, request: Any) -> Any:
        transport = transport_for(call, self.force_http)
        observer = observers.calls
        if observer is None:
            return transport.call(call, request, self)
        with observer.calling(call, transport.kind, self.caller):
            return transport.call(call, request, self)

    def __repr__(self) -> str:
        return f"<RPCClient {self.principal.role.value} {self.principal.username!r}>"
