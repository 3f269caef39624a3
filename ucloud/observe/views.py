"""The admin's inspection pages (staff only): catalog, picture, calls, traces,
live state and the dead letters of every unit.

Each page gathers what it shows from the registry, the topology and, for
the figures and state of other units, the kit's own calls
(``ucloud.observe.units``); ``inspection_urls(site)`` puts them under the
admin site::

    /admin/inspect/catalog/              /admin/inspect/catalog/files/
    /admin/inspect/picture/?format=svg   /admin/inspect/calls/
    /admin/inspect/traces/?call=files.share&errors=1&slower=50
    /admin/inspect/live/                 /admin/inspect/dead-letters/
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.admin import AdminSite
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from ucloud.observe import spanstore, tracing
from ucloud.observe.api import UcloudDescriptions
from ucloud.observe.catalog import service_catalog
from ucloud.observe.diagram import Picture, running_picture, topology_picture
from ucloud.observe.mermaid import render_mermaid
from ucloud.observe.svg import render_svg
from ucloud.observe.traces import recent_traces, waterfall
from ucloud.observe.units import Answer, UnitRef, ask, ask_all, deployment_topology, running_units

View = Callable[..., HttpResponse]


class InspectionPages:
    """The pages, bound to one admin site (its header, its login)."""

    def __init__(self, site: AdminSite) -> None:
        self.site = site

    def render(self, request: HttpRequest, template: str, title: str, **context: Any) -> Any:
        return TemplateResponse(
            request,
            f"ucloud/observe/{template}",
            {**self.site.each_context(request), "title": title, **context},
        )

    # Catalog ----------------------------------------------------------------

    def catalog(self, request: HttpRequest) -> HttpResponse:
        entries = service_catalog()
        return self.render(request, "catalog.html", "Service catalog", entries=entries)

    def service(self, request: HttpRequest, name: str) -> HttpResponse:
        entry = next((entry for entry in service_catalog() if entry.name == name), None)
        if entry is None:
            raise Http404(f"No service {name!r}")
        return self.render(request, "service.html", f"Service {name}", entry=entry)

    # Picture ----------------------------------------------------------------

    def _picture(self, request: HttpRequest) -> tuple[Picture, dict[UnitRef, Answer]]:
        if request.GET.get("view") == "topology":
            deployment = deployment_topology()
            if deployment is None:
                raise Http404("No topology file")
            return topology_picture(deployment), {}
        units = running_units()
        described = ask_all(UcloudDescriptions.describe, {}, units)
        figures = ask_all(UcloudDescriptions.figures, {}, units)
        observed = [row for answer in figures.values() if answer.value
                    for row in answer.value["calls"]]  # fmt: skip
        rows = [(unit.name, list(unit.services), described[unit].value) for unit in units]
        failed = {unit: answer for unit, answer in described.items() if answer.error}
        return running_picture(rows, observed), failed

    def picture(self, request: HttpRequest) -> HttpResponse:
        picture, failed = self._picture(request)
        wanted = request.GET.get("format")
        if wanted == "svg":
            return HttpResponse(render_svg(picture), content_type="image/svg+xml")
        if wanted == "mermaid":
            return HttpResponse(render_mermaid(picture), content_type="text/plain; charset=utf-8")
        return self.render(
            request,
            "picture.html",
            "Architecture",
            svg=render_svg(picture),
            picture=picture,
            failed=failed,
            view=request.GET.get("view", "running"),
        )

    # Calls --------------------------------------------------------------------

    def calls(self, request: HttpRequest) -> HttpResponse:
        answers = ask_all(UcloudDescriptions.figures, {})
        return self.render(request, "calls.html", "Calls", answers=answers)

    # Traces -------------------------------------------------------------------

    def traces(self, request: HttpRequest) -> HttpResponse:
        call = request.GET.get("call", "").strip()
        errors_only = request.GET.get("errors") in ("1", "on", "true")
        slower = _number(request.GET.get("slower", ""))
        found = []
        if not tracing.otlp_configured():
            tracing.flush()
            records = spanstore.configured_store().records()
            found = recent_traces(
                records, call=call, errors_only=errors_only, slower_than_ms=slower
            )
        return self.render(
            request,
            "traces.html",
            "Recent traces",
            traces=found,
            otlp=tracing.otlp_configured(),
            call=call,
            errors_only=errors_only,
            slower="" if slower is None else request.GET.get("slower", ""),
        )

    def trace(self, request: HttpRequest, trace_id: str) -> HttpResponse:
        tracing.flush()
        rows = waterfall(spanstore.configured_store().records(), trace_id)
        if not rows:
            raise Http404(f"Trace {trace_id} is not kept (any more)")
        return self.render(request, "trace.html", f"Trace {trace_id}", rows=rows, trace_id=trace_id)

    # Live state ---------------------------------------------------------------

    def live(self, request: HttpRequest) -> HttpResponse:
        answers = ask_all(UcloudDescriptions.live, {})
        return self.render(request, "live.html", "Live state", answers=answers)

    def dead_letters(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST":
            return self._retry(request)
        resolved = request.GET.get("resolved") == "1"
        answers = ask_all(UcloudDescriptions.dead_letters, {"resolved": resolved, "limit": 200})
        return self.render(
            request,
            "dead_letters.html",
            "Dead letters of every unit",
            answers=answers,
            resolved=resolved,
            may_retry=request.user.has_perm("ucloud.change_deadletter"),
        )

    def _retry(self, request: HttpRequest) -> HttpResponse:
        back = HttpResponseRedirect(reverse(f"{self.site.name}:ucloud-dead-letters"))
        if not request.user.has_perm("ucloud.change_deadletter"):
            messages.error(request, "Retrying dead letters needs the change permission.")
            return back
        chosen: dict[str, list[dict[str, Any]]] = {}
        for value in request.POST.getlist("letter"):
            unit, _, rest = value.partition("|")
            database, _, letter_id = rest.partition("|")
            if letter_id.isdigit():
                chosen.setdefault(unit, []).append({"database": database, "id": int(letter_id)})
        units = {unit.name: unit for unit in running_units()}
        for name, letters in chosen.items():
            found = units.get(name)
            if found is None:
                messages.error(request, f"No unit {name!r}.")
                continue
            self._retry_at(request, found, letters)
        if not chosen:
            messages.warning(request, "No dead letter was selected.")
        return back

    def _retry_at(self, request: HttpRequest, unit: UnitRef, letters: list[dict[str, Any]]) -> None:
        try:
            answer = ask(unit, UcloudDescriptions.retry_dead_letters, {"letters": letters})
        except Exception as exc:  # the unit is down: say so, keep the page
            messages.error(request, f"{unit.name}: {exc}")
            return
        results = answer["results"]
        handled = [r for r in results if r["handled"]]
        failing = [f"#{r['id']}: {r['reason']}" for r in results if not r["handled"]]
        if handled:
            messages.success(request, f"{unit.name}: {len(handled)} dead letter(s) handled.")
        if failing:
            messages.error(request, f"{unit.name}: still failing: {'; '.join(failing)}")


def _number(value: str) -> float | None:
    try:
        return float(value) if value.strip() else None
    except ValueError:
        return None


def inspection_urls(site: AdminSite) -> list[URLPattern]:
    pages = InspectionPages(site)
    wrap = site.admin_view
    return [
        path("inspect/catalog/", wrap(pages.catalog), name="ucloud-catalog"),
        path("inspect/catalog/<str:name>/", wrap(pages.service), name="ucloud-service"),
        path("inspect/picture/", wrap(pages.picture), name="ucloud-picture"),
        path("inspect/calls/", wrap(pages.calls), name="ucloud-calls"),
        path("inspect/traces/", wrap(pages.traces), name="ucloud-traces"),
        path("inspect/traces/<str:trace_id>/", wrap(pages.trace), name="ucloud-trace"),
        path("inspect/live/", wrap(pages.live), name="ucloud-live-state"),
        path("inspect/dead-letters/", wrap(pages.dead_letters), name="ucloud-dead-letters"),
    ]
