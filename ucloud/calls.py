"""Call descriptions: the contract of a service, declared once in ``api.py``.

After UCloud's ``CallDescriptionContainer``. Both the server (routes, checks,
OpenAPI) and the caller (``.call``) are driven by these objects::

    class FileDescriptions(CallDescriptionContainer):
        namespace = "files"
        create = call(request=CreateFileRequest, response=File,
                      roles=Roles.END_USER, access=Access.READ_WRITE,
                      http=http_create(), audit=True, summary="Create a file")

    FileDescriptions.create.call({"path": "/a", "size": 1}, client)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rest_framework import serializers

from ucloud.bindings import HttpBinding
from ucloud.roles import Access, Role, Roles

if TYPE_CHECKING:
    from ucloud.client import RPCClient

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
) -> CallDescription:
    """Declare a call inside a ``CallDescriptionContainer`` body."""
    return CallDescription(
        request=request,
        response=response,
        http=http,
        roles=frozenset(roles),
        access=access,
        audit=audit,
        summary=summary,
        description=description,
    )


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
