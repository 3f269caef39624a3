"""Which controller method implements each call, for both ways of serving it.

``@implement(call)`` marks a method; a ``Controller`` subclass registers its
marked methods here when it is defined. The in-process transport and the
HTTP routes both find the implementation here, so the client side never
imports the HTTP server side::

    handler = handler_for(FileDescriptions.create)   # on a fresh controller
    result = handler(ctx)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ucloud.contracts.calls import CallDescription
from ucloud.contracts.errors import NotFound
from ucloud.rpc.pipeline import Handler

if TYPE_CHECKING:
    from ucloud.rpc.controllers import Controller

F = TypeVar("F", bound=Callable[..., Any])

_IMPLEMENTS = "_ucloud_implements"

# call -> every (controller, method name) implementing it; more than one is a
# system check error (ucloud.E001).
_implementations: dict[CallDescription, list[tuple[type[Controller], str]]] = defaultdict(list)


def implement(call: CallDescription) -> Callable[[F], F]:
    """Mark a controller method as the implementation of ``call``."""

    def mark(method: F) -> F:
        setattr(method, _IMPLEMENTS, call)
        return method

    return mark


def implemented_call(method: object) -> CallDescription | None:
    """The call ``method`` was marked with by ``implement``, if any."""
    call = getattr(method, _IMPLEMENTS, None)
    return call if isinstance(call, CallDescription) else None


def register(call: CallDescription, controller: type[Controller], method: str) -> None:
    _implementations[call].append((controller, method))


def implementations() -> dict[CallDescription, list[tuple[type[Controller], str]]]:
    return {call: list(impls) for call, impls in _implementations.items()}


def handler_for(call: CallDescription) -> Handler:
    """A bound handler for ``call`` on a fresh controller instance."""
    impls = _implementations.get(call)
    if not impls:
        raise NotFound(f"{call.full_name} is not implemented", error_code="not_implemented")
    controller = impls[0][0]
    return controller().handler(call)
