"""``Service``: the entry point of one micro-service (UCloud's ``Main.kt``).

Each service app's ``apps.py`` subclasses it; ``ready()`` registers the
service and imports its ``api`` and ``rpc`` modules, and nothing else::

    class FilesService(Service):
        name = "apps.files"
        label = "files"
        features = ("database",)
"""

from __future__ import annotations

from importlib import import_module
from typing import ClassVar

from django.apps import AppConfig
from django.utils.module_loading import module_has_submodule

from ucloud import registry

DATABASE = "database"
REDIS = "redis"
ELASTICSEARCH = "elasticsearch"


class Service(AppConfig):
    """An ``AppConfig`` that is also a ucloud service."""

    default_auto_field = "django.db.models.BigAutoField"
    # Django picks the one AppConfig in an apps.py marked default; the base
    # class imported there must not count, its subclasses must.
    default = False
    # Dependencies the service uses; /status checks each of them.
    features: ClassVar[tuple[str, ...]] = (DATABASE,)
    # Modules of the service the kit imports at start-up, when present.
    autodiscover: ClassVar[tuple[str, ...]] = ("api", "rpc", "processors", "documents")

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "default" not in vars(cls):
            cls.default = True

    def ready(self) -> None:
        registry.register(self)
        for module in self.autodiscover:
            if module_has_submodule(self.module, module):
                import_module(f"{self.name}.{module}")
