"""Call descriptions: the contract of a service, declared once in ``api.py``.

After UCloud's ``CallDescriptionContainer``. Both the server (routes, checks,
OpenAPI) and the caller (``.call``) are driven by these objects::

    class FileDescriptions(CallDescriptionContainer):
        namespace = "files"
        create = call(request=CreateFileRequest, response=File,
                      roles=Roles.END_USER, access=Access.READ_WRITE,
                      http=http_create(), audit=True, summary="Create a file")
        # Only the files service itself may make this one.
        reindex = call(request=Empty, response=Empty, roles=Roles.SERVICE,
                       callers=("files",), http=http_update("reindex"))

    FileDescriptions.create.call({"path": "/a", "size": 1}, client)

A call also declares the errors its handler answers on purpose, beyond the
400, 401 and 403 every call may answer (``ucloud.contracts.declared_errors``)::

    retrieve = call(..., errors=(NotFound.declare("unknown_file", "No such file"),))
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rest_framework import serializers

from ucloud.contracts.bindings import HttpBinding
from ucloud.contracts.errors import DeclaredError
from ucloud.contracts.roles import Access, Role, Roles

if TYPE_CHECKING:
    from ucloud.rpc.client import RPCClient

SerializerClass = type[serializers.Serializer]


@dataclass(eq=False)
class CallDescription:
    """One call: names, serializers, auth, HTTP binding and documentation."""

    request: SerializerClass
    response: SerializerClass
    http: HttpBinding
    roles: frozenset[Role] = Roles.END_USER
    access: Access = Access.READ
    audit: bool = False
    summary: str = ""
    description: str = ""
    # Services whose SERVICE principals may make the call; None: any service.
    callers: frozenset[str] | None = None
    # Errors the handler answers on purpose (4xx), besides the implied ones.
    errors: tuple[DeclaredError, ...] = ()
    # Filled in by the container.
    name: str = ""
    namespace: str = ""
    container: type[CallDescriptionContainer] | None = field(default=None, repr=False)

    @property
    def full_name(self) -> str:
        return f"{self.namespace}.{self.name}"

    @property
    def scope(self) -> str:
        return f"{self.full_name}:{self.access.value}"

    @property
    def path(self) -> str:
        return self.http.path(self.namespace)

    def call(self, request: Any, client: RPCClient) -> Any:
        """Make the call; returns the response data or raises ``RPCException``."""
        return client.call(self, request)

    def __repr__(self) -> str:
        return f"<CallDescription {self.full_name}>"


def call(
    *,
    request: SerializerClass,
    response: SerializerClass,
    http: HttpBinding,
    roles: Iterable[Role] = Roles.END_USER,
    access: Access = Access.READ,
    audit: bool = False,
    summary: str = "",
    description: str = "",
    callers: Iterable[str] | None = None,
    errors: Iterable[DeclaredError] = (),
) -> CallDescription:
    """Declare a call inside a ``CallDescriptionContainer`` body.

    ``callers`` restricts the SERVICE role to the named services (other
    roles in ``roles`` are not affected). ``errors`` lists the client errors
    (4xx) the handler may answer, e.g. ``NotFound.declare("unknown_file")``.
    """
    roles = frozenset(roles)
    return CallDescription(
        request=request,
        response=response,
        http=http,
        roles=roles,
        access=access,
        audit=audit,
        summary=summary,
        description=description,
        callers=_callers(callers, roles),
        errors=_errors(errors),
    )


def _callers(callers: Iterable[str] | None, roles: frozenset[Role]) -> frozenset[str] | None:
    if callers is None:
        return None
    # ("files") is a string, not a tuple: iterating it would allow "f", "i"...
    if isinstance(callers, str):
        raise TypeError(f"callers takes service names, e.g. ({callers!r},), not a string")
    names = frozenset(callers)
    if not names:
        raise ValueError("callers names no service; leave Role.SERVICE out of roles instead")
    if Role.SERVICE not in roles:
        raise ValueError("callers restricts the SERVICE role, which roles does not allow")
    return names


def _errors(errors: Iterable[DeclaredError]) -> tuple[DeclaredError, ...]:
    if isinstance(errors, DeclaredError):
        raise TypeError("errors takes a tuple of declared errors, e.g. (NotFound.declare(...),)")
    declared = tuple(errors)
    seen: set[tuple[int, str]] = set()
    for error in declared:
        if not isinstance(error, DeclaredError):
            raise TypeError(f"errors takes declared errors (NotFound.declare(...)), not {error!r}")
        if not 400 <= error.status < 500:
            raise ValueError(
                f"{error.status} {error.error_code}: only client errors (4xx) are declared; "
                "server errors are never part of a contract"
            )
        if (error.status, error.error_code) in seen:
            raise ValueError(f"{error.status} {error.error_code} is declared twice")
        seen.add((error.status, error.error_code))
    return tuple(sorted(declared, key=lambda error: (error.status, error.error_code)))


# Every container ever declared, by namespace, so that the kit can find the
# contract of a service without importing anything else of it.
_containers: dict[str, type[CallDescriptionContainer]] = {}


class CallDescriptionContainer:
    """Groups the calls of one namespace; subclass it in a service's ``api.py``."""

    namespace: str = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.namespace:
            raise TypeError(f"{cls.__name__} must set a namespace")
        for attr, value in vars(cls).items():
            if isinstance(value, CallDescription):
                value.name = attr
                value.namespace = cls.namespace
                value.container = cls
        _containers[cls.namespace] = cls

    @classmethod
    def calls(cls) -> Iterator[CallDescription]:
        for value in vars(cls).values():
            if isinstance(value, CallDescription):
                yield value


def containers() -> dict[str, type[CallDescriptionContainer]]:
    """Containers declared so far (those whose ``api`` module was imported)."""
    return dict(_containers)


class Empty(serializers.Serializer):
    """A request or response without fields."""
