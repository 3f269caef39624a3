"""Who may call what: roles, role sets and READ / READ_WRITE access.

A call lists the roles allowed to make it and the kind of access it needs;
its scope (``files.create:write``) is derived from both::

    create = call(..., roles=Roles.END_USER, access=Access.READ_WRITE)
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    GUEST = "GUEST"  # no token at all
    USER = "USER"
    ADMIN = "ADMIN"
    SERVICE = "SERVICE"  # another service, calling on its own behalf


class Roles:
    """The role sets calls usually need, after UCloud's ``Roles``."""

    PUBLIC: frozenset[Role] = frozenset(Role)
    AUTHENTICATED: frozenset[Role] = frozenset({Role.USER, Role.ADMIN, Role.SERVICE})
    END_USER: frozenset[Role] = frozenset({Role.USER, Role.ADMIN})
    PRIVILEGED: frozenset[Role] = frozenset({Role.ADMIN, Role.SERVICE})
    ADMIN: frozenset[Role] = frozenset({Role.ADMIN})
    SERVICE: frozenset[Role] = frozenset({Role.SERVICE})


class Access(enum.StrEnum):
    READ = "read"
    READ_WRITE = "write"
