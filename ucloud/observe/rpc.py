"""Every unit's side of the kit's own calls (``ucloud.observe.api``).

The controller is not registered with ``@implement``: the kit's calls
belong to no service, so the service routes, the implementation checks and
the OpenAPI document leave them out; ``kit_urlpatterns`` routes them in
every unit::

    urlpatterns = [*kit_urlpatterns(), *api_urlpatterns()]
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.urls import URLPattern, path

from ucloud.contracts.calls import CallDescription
from ucloud.observe import live, window
from ucloud.observe.api import UcloudDescriptions
from ucloud.observe.stats import call_rows, current_totals
from ucloud.rpc.context import CallContext
from ucloud.rpc.controllers import Controller


class KitController(Controller):
    # Not in the public API document: SERVICE tokens only, kit internals.
    schema = None  # type: ignore[assignment]
    ucloud_methods: ClassVar[dict[CallDescription, str]] = {
        UcloudDescriptions.describe: "describe",
        UcloudDescriptions.figures: "figures",
        UcloudDescriptions.live: "live",
        UcloudDescriptions.dead_letters: "dead_letters",
        UcloudDescriptions.retry_dead_letters: "retry_dead_letters",
    }

    def describe(self, ctx: CallContext) -> dict[str, Any]:
        return live.describe_this_unit()

    def figures(self, ctx: CallContext) -> dict[str, Any]:
        window.snapshots.take()
        base, seconds = window.snapshots.base()
        return {"window_s": round(seconds, 1), "calls": call_rows(current_totals(), base, seconds)}

    def live(self, ctx: CallContext) -> dict[str, Any]:
        return {"state": live.live_state()}

    def dead_letters(self, ctx: CallContext) -> dict[str, Any]:
        request = ctx.request
        return {"letters": live.dead_letters(resolved=request["resolved"], limit=request["limit"])}

    def retry_dead_letters(self, ctx: CallContext) -> dict[str, Any]:
        letters = [(item["database"], item["id"]) for item in ctx.request["letters"]]
        return {"results": live.retry_letters(letters)}


def kit_urlpatterns() -> list[URLPattern]:
    patterns = []
    for call in UcloudDescriptions.calls():
        method = call.http.method.lower()
        allowed = [method, *(["head"] if method == "get" else []), "options"]
        view = KitController.as_view(
            {method: "serve_call"}, ucloud_calls={method: call}, http_method_names=allowed
        )
        patterns.append(path(call.path, view, name=f"ucloud-kit-{call.name}"))
    return patterns
