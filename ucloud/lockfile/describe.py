"""The contracts of the code as it is: every call and stream of the services.

A call is described by what its callers rely on: binding, roles, scope,
callers, request and response shapes and declared errors; a stream by its
producer, key and payload. Summaries and descriptions are documentation,
not contract, and are left out::

    contracts = describe_contracts()
    contracts["calls"]["files.retrieve"]["http"]
    # {"method": "GET", "path": "/api/files/retrieve", "source": "query", "status": 200}
"""

from __future__ import annotations

from typing import Any

from ucloud import registry
from ucloud.contracts.calls import CallDescription, containers
from ucloud.contracts.roles import Role

# The kit's event streams move to ucloud.events; this is the one place the
# lockfile reads them from.
from ucloud.events.streams import EventStream, streams
from ucloud.lockfile.shapes import describe_serializer

Document = dict[str, Any]


def declared_streams() -> dict[str, EventStream]:
    """Every stream declared by a service (test and example streams excluded)."""
    return {name: stream for name, stream in streams().items() if stream.service is not None}


def service_calls() -> list[CallDescription]:
    """Every call of every registered service, by name."""
    found: list[CallDescription] = []
    for container in containers().values():
        try:
            registry.service_of_module(container.__module__)
        except LookupError:
            continue  # declared outside the services (tests, examples)
        found.extend(container.calls())
    return sorted(found, key=lambda call: call.full_name)


def describe_call(call: CallDescription, service: str | None = None) -> Document:
    """One call's contract as plain data."""
    return {
        "service": service if service is not None else registry.service_of(call),
        "http": {
            "method": call.http.method.upper(),
            "path": "/" + call.path,
            "source": call.http.source.value,
            "status": call.http.success_status,
        },
        "roles": [role.value for role in Role if role in call.roles],
        "access": call.access.value,
        "scope": call.scope,
        "callers": None if call.callers is None else sorted(call.callers),
        "audit": call.audit,
        "request": describe_serializer(call.request),
        "response": describe_serializer(call.response),
        "errors": [
            {"status": e.status, "error_code": e.error_code, "description": e.description}
            for e in call.errors
        ],
    }


def describe_stream(stream: EventStream) -> Document:
    """One stream's contract as plain data."""
    return {
        "service": stream.service,
        "key": stream.key,
        "payload": describe_serializer(stream.payload),
    }


def describe_contracts() -> Document:
    """``{"calls": {name: call}, "streams": {name: stream}}`` of the code."""
    return {
        "calls": {call.full_name: describe_call(call) for call in service_calls()},
        "streams": {
            name: describe_stream(stream) for name, stream in sorted(declared_streams().items())
        },
    }
