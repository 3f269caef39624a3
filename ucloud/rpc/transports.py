"""Transports: how a call reaches its service.

``InProcessTransport`` runs the pipeline directly (no HTTP, no JSON);
``HttpTransport`` sends the call to the service's URL with one pooled
keep-alive ``httpx.Client`` per process. Both present the token
``ucloud.auth.credentials.bearer_token`` picks for the target service, and the
callee checks it the same way. Callers never pick a transport by hand::

    transport_for(FileDescriptions.create).call(call, request, client)
"""

from __future__ import annotations

import json
import os
import threading
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from django.core.signals import setting_changed
from rest_framework.utils.encoders import JSONEncoder

from ucloud import observers, registry, serving
from ucloud.auth.authentication import authenticate
from ucloud.auth.credentials import bearer_token
from ucloud.contracts.bindings import RequestSource
from ucloud.contracts.calls import CallDescription
from ucloud.contracts.errors import BadGateway, GatewayTimeout
from ucloud.rpc.error_mapping import error_from_response
from ucloud.rpc.implementations import handler_for
from ucloud.rpc.pipeline import execute, new_job_id
from ucloud.settings import ucloud_settings

if TYPE_CHECKING:
    from ucloud.rpc.client import RPCClient


class Transport(Protocol):
    # "local" (in-process) or "remote" (HTTP), as metrics and spans label calls.
    kind: str

    def call(self, call: CallDescription, request: Any, client: RPCClient) -> Any: ...


class InProcessTransport:
    """Runs the call's pipeline in this process and thread.

    The callee checks the token the caller presents exactly as an HTTP
    server would (``authenticate``); only the wire is skipped.
    """

    kind = "local"

    def __init__(self, service: str) -> None:
        self.service = service
        self.audiences = frozenset({service})

    def call(self, call: CallDescription, request: Any, client: RPCClient) -> Any:
        token = bearer_token(client.principal, self.service, forwarded_by=client.forwarded_by)
        return execute(
            call,
            request,
            authenticate(token, audiences=self.audiences),
            handler=handler_for(call),
            job_id=new_job_id(),
            caused_by=client.caused_by,
            client_address=client.client_address,
            clients=type(client),
        )


class _NoCookies(httpx.Cookies):
    """A jar that keeps no cookie an answer sets."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class _SharedHttpClient:
    """One ``httpx.Client`` per process, made again after a fork."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = 0
        self._client: httpx.Client | None = None

    def get(self) -> httpx.Client:
        client = self._client
        if client is not None and self._pid == os.getpid():
            return client
        with self._lock:
            if self._client is None or self._pid != os.getpid():
                timeout = httpx.Timeout(
                    ucloud_settings.HTTP_READ_TIMEOUT,
                    connect=ucloud_settings.HTTP_CONNECT_TIMEOUT,
                )
                limits = httpx.Limits(
                    max_connections=ucloud_settings.HTTP_MAX_CONNECTIONS,
                    max_keepalive_connections=ucloud_settings.HTTP_MAX_CONNECTIONS,
                    keepalive_expiry=ucloud_settings.HTTP_KEEPALIVE_EXPIRY,
                )
                # retries=0: a non-idempotent call is never sent twice.
                transport = httpx.HTTPTransport(retries=0, limits=limits)
                client = httpx.Client(timeout=timeout, transport=transport)
                # No cookie jar (httpx's private field: its constructor copies
                # any jar into its own class). Calls carry their caller's token,
                # and this one client serves every user of the process: a
                # cookie one answer set would go out with other users' calls.
                # It also spares httpx copying and decoding every request's
                # headers for the jar on each answer.
                client._cookies = _NoCookies()
                self._client = client
                self._pid = os.getpid()
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None and self._pid == os.getpid():
                self._client.close()
            self._client = None


shared_http_client = _SharedHttpClient()
_encoder = JSONEncoder()


class HttpTransport:
    """Sends calls to ``base_url`` as the principal of the client."""

    kind = "remote"

    def __init__(self, service: str, base_url: str) -> None:
        self.service = service
        self.base_url = base_url

    def call(self, call: CallDescription, request: Any, client: RPCClient) -> Any:
        headers = {"Job-Id": new_job_id(), "Accept": "application/json"}
        token = bearer_token(client.principal, self.service, forwarded_by=client.forwarded_by)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if client.caused_by:
            headers["Caused-By"] = client.caused_by
        if client.client_address:
            # Believed by the callee only when this process is a trusted proxy.
            headers["X-Forwarded-For"] = client.client_address
        observer = observers.calls
        if observer is not None:
            observer.inject(headers)  # traceparent: the callee continues the trace
        url = f"{self.base_url}/{call.path}"
        params = content = None
        if call.http.source is RequestSource.QUERY:
            params = {k: v for k, v in (request or {}).items() if v is not None}
        else:
            content = _encoder.encode({} if request is None else request).encode()
            headers["Content-Type"] = "application/json"
        try:
            response = shared_http_client.get().request(
                call.http.method, url, params=params, content=content, headers=headers
            )
        except httpx.TimeoutException as exc:
            raise GatewayTimeout(f"{self.service} did not answer {call.full_name} in time") from exc
        except httpx.TransportError as exc:
            raise BadGateway(f"{self.service} is unreachable at {self.base_url}: {exc}") from exc
        if response.status_code >= 400:
            raise error_from_response(
                response.status_code,
                response.content,
                response.headers,
                service=self.service,
                reason=response.reason_phrase,
            )
        try:
            return json.loads(response.content) if response.content else None
        except ValueError as exc:
            raise BadGateway(f"{self.service} answered with malformed JSON") from exc


_in_process: dict[str, InProcessTransport] = {}
_http: dict[str, HttpTransport] = {}


def transport_for(call: CallDescription, force_http: bool | None = None) -> Transport:
    service = registry.service_of(call)
    if force_http is None:
        force_http = ucloud_settings.FORCE_HTTP
    if not force_http and serving.is_served(service):
        local = _in_process.get(service)
        if local is None:
            local = _in_process[service] = InProcessTransport(service)
        return local
    transport = _http.get(service)
    if transport is None:
        transport = _http[service] = HttpTransport(service, serving.service_url(service))
    return transport


def reset() -> None:
    _http.clear()
    shared_http_client.close()


def _reset_on_change(*, setting: str, **kwargs: Any) -> None:
    # Service URLs and HTTP client limits come from UCLOUD.
    if setting == "UCLOUD":
        reset()


setting_changed.connect(_reset_on_change)
