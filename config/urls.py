"""Project URLs: the admin and everything the kit generates; errors answer JSON."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("", include("ucloud.urls")),
]

# Unknown paths, a wrong Host, oversized bodies: the kit's JSON, never HTML.
handler400 = "ucloud.rpc.error_mapping.bad_request"
handler403 = "ucloud.rpc.error_mapping.permission_denied"
handler404 = "ucloud.rpc.error_mapping.not_found"
handler500 = "ucloud.rpc.error_mapping.server_error"
