"""The principal: who a call is made by, on whichever transport it travels.

Handlers read it from their context; clients carry it (with its token) so
that onward calls are checked as the same user::

    ctx.principal.username, ctx.principal.role, ctx.principal.has_scope("files.create:write")
    ctx.principal.service      # "files" for the files service's principal, else None
    ctx.principal.via          # ("notifications",): services that forwarded it here
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ucloud.contracts.roles import Role

ALL_SCOPES = ("all:write",)


@dataclass(frozen=True)
class Principal:
    username: str
    role: Role
    scopes: tuple[str, ...] = field(default=ALL_SCOPES)
    # The bearer token the principal was read from (or minted for), so that
    # calls made on its behalf over HTTP can present it again.
    token: str | None = field(default=None, repr=False, compare=False)
    # Whom that token is meant for: a service, or "ucloud" (user tokens).
    audience: str | None = field(default=None, repr=False, compare=False)
    # The services that forwarded this principal, first to last: a service
    # calling on behalf of the SERVICE principal that called it.
    via: tuple[str, ...] = ()

    def has_scope(self, scope: str) -> bool:
        """True when a scope like ``files.create:write`` is granted.

        A granted scope matches by exact call, by namespace (``files:read``)
        or for everything (``all:write``); ``write`` implies ``read``.
        """
        call, _, access = scope.rpartition(":")
        namespace = call.split(".", 1)[0]
        for granted in self.scopes:
            target, _, granted_access = granted.rpartition(":")
            if target not in ("all", namespace, call):
                continue
            if granted_access == "write" or granted_access == access:
                return True
        return False

    @property
    def service(self) -> str | None:
        """The calling service of a SERVICE principal (``_files`` -> ``files``)."""
        if self.role is Role.SERVICE and self.username.startswith("_"):
            return self.username[1:]
        return None

    @property
    def is_authenticated(self) -> bool:
        # Lets DRF treat a principal as request.user.
        return True


GUEST = Principal(username="", role=Role.GUEST, scopes=())
