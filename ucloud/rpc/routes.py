"""URL routes generated from the call descriptions of the services served here.

One route per path; its HTTP methods dispatch to the calls bound there::

    urlpatterns = [*api_urlpatterns()]   # api/files, api/files/browse, ...

When ``UCLOUD["SERVICES"]`` names a service that is not installed, every
``/api/`` path answers 503 naming the mistake instead: building the URL
configuration must not fail, or ``manage.py check`` would stop with a
traceback before it can report the setting as ``ucloud.E005``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, path, re_path
from django.views.decorators.csrf import csrf_exempt

from ucloud import registry, serving
from ucloud.contracts.calls import CallDescription
from ucloud.contracts.errors import ServiceUnavailable
from ucloud.rpc.controllers import Controller
from ucloud.rpc.implementations import implementations


def _routes() -> dict[str, tuple[type[Controller], dict[str, CallDescription]]]:
    routes: dict[str, tuple[type[Controller], dict[str, CallDescription]]] = {}
    for call, impls in implementations().items():
        if not impls or not serving.is_served(registry.service_of(call)):
            continue
        controller = impls[0][0]
        existing = routes.setdefault(call.path, (controller, {}))
        if existing[0] is not controller:
            raise TypeError(
                f"/{call.path} is served by both {existing[0].__name__} and "
                f"{controller.__name__}; calls sharing a path need one controller"
            )
        method = call.http.method.lower()
        if method in existing[1]:
            raise TypeError(
                f"{method.upper()} /{call.path} is bound to both "
                f"{existing[1][method].full_name} and {call.full_name}"
            )
        existing[1][method] = call
    return routes


def _misconfigured(why: str) -> URLPattern:
    error = ServiceUnavailable(why, error_code="misconfigured")

    @csrf_exempt
    def answer(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return JsonResponse(error.body(), status=error.status)

    return re_path(r"^api/", answer, name="ucloud-misconfigured")


def api_urlpatterns() -> list[URLPattern]:
    try:
        routes = _routes()
    except ImproperlyConfigured as exc:
        return [_misconfigured(str(exc))]
    patterns = []
    for route, (controller, calls) in sorted(routes.items()):
        methods = sorted(calls)
        # Only the bound methods are allowed, so that an implementation named
        # like an HTTP verb (``delete``) is never dispatched to directly.
        allowed = [*methods, *(["head"] if "get" in calls else []), "options"]
        view = controller.as_view(
            dict.fromkeys(methods, "serve_call"),
            ucloud_calls=calls,
            http_method_names=allowed,
        )
        name = "-".join(sorted(call.full_name for call in calls.values()))
        patterns.append(path(route, view, name=name))
    return patterns
