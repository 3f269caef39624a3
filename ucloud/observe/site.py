"""The admin site of a unit: its own services' models, and the inspection pages.

A unit's admin shows the models of the services it serves, read from their
databases; models of services served by other units are left out (this
unit holds neither their database address nor the right to write there
behind their back). The inspection pages cover every unit through the
kit's own calls. Install it in place of ``django.contrib.admin``::

    INSTALLED_APPS = ["ucloud.observe.admin_app.InspectingAdminConfig", ...]
    # /admin/inspect/catalog/, /admin/inspect/picture/, /admin/inspect/calls/, ...
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.urls import URLPattern, URLResolver

from ucloud import registry, serving
from ucloud.observe.views import inspection_urls


def served_here(app_label: str) -> bool:
    """False for the models of a service another unit serves."""
    try:
        return app_label not in registry.services() or serving.is_served(app_label)
    except ImproperlyConfigured:
        # UCLOUD["SERVICES"] names an unknown service: the URLs must still
        # build, so that `manage.py check` can report it (ucloud.E005).
        return True


def _unserved_models(url: URLResolver | URLPattern) -> bool:
    """The pages of a model (``files/file/``) of a service not served here."""
    return isinstance(url, URLResolver) and not served_here(str(url.pattern).split("/")[0])


class InspectingAdminSite(AdminSite):
    site_header = "ucloud administration"
    index_template = "ucloud/observe/index.html"

    def get_urls(self) -> list[URLResolver | URLPattern]:
        # The model pages of services served elsewhere go; the app index
        # keeps every label, so that links to it still resolve (its page of
        # an unserved app is a 404, as it lists nothing).
        urls = [url for url in super().get_urls() if not _unserved_models(url)]
        return [*inspection_urls(self), *urls]

    def get_app_list(
        self, request: HttpRequest, app_label: str | None = None
    ) -> list[dict[str, Any]]:
        return [
            app for app in super().get_app_list(request, app_label) if served_here(app["app_label"])
        ]
