"""URLs of the kit: generated API routes, ``/status`` (and ``/status/live``),
``/metrics`` (Prometheus), the kit's own calls (``/api/ucloud/...``), the OpenAPI schema.

Include it at the root of the project::

    urlpatterns = [path("admin/", admin.site.urls), path("", include("ucloud.urls"))]
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from ucloud.health import live, status
from ucloud.observe.exposition import metrics_view
from ucloud.observe.rpc import kit_urlpatterns
from ucloud.rpc.error_mapping import api_not_found, reading_only
from ucloud.rpc.routes import api_urlpatterns

urlpatterns: list[URLPattern | URLResolver] = [
    path("status", status, name="ucloud-status"),
    path("status/live", live, name="ucloud-live"),
    path("metrics", metrics_view, name="ucloud-metrics"),
    path("api/schema/", reading_only(SpectacularAPIView.as_view()), name="ucloud-schema"),
    path(
        "api/docs/",
        reading_only(SpectacularSwaggerView.as_view(url_name="ucloud-schema")),
        name="ucloud-docs",
    ),
    *kit_urlpatterns(),
    *api_urlpatterns(),
    # Anything else under /api/ is a call this process does not serve; /api
    # itself too (else CommonMiddleware answers it with an empty HTML 301
    # to /api/, only for that to be this 404).
    re_path(r"^api(/|$)", api_not_found),
]
