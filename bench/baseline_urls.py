"""URLs of the benchmark servers: the project's, plus the baseline views.

``/bench/plain/`` does the kit's work by hand with the kit's serializers,
services and authentication; ``/bench/bare/`` is the floor, without any kit
code.

``bench.settings`` makes this the root urlconf, so the baseline is reachable
only in the benchmark::

    ROOT_URLCONF = "bench.baseline_urls"
"""

from django.urls import URLPattern, URLResolver, path

from bench.bare_views import BareFileRetrieveView
from bench.baseline_views import PlainFileCreateView, PlainFileRetrieveView
from config.urls import urlpatterns as project_urlpatterns

urlpatterns: list[URLPattern | URLResolver] = [
    path("bench/plain/files/retrieve", PlainFileRetrieveView.as_view()),
    path("bench/plain/files", PlainFileCreateView.as_view()),
    path("bench/bare/files/retrieve", BareFileRetrieveView.as_view()),
    *project_urlpatterns,
]
