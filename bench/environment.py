"""The benchmark's world: Django set up on a throw-away database, a user, files.

``prepare()`` must run before anything imports Django models; it migrates a
temporary SQLite file (or the database of ``DATABASE_URL`` when set)::

    world = prepare()
    try: ... world.token, world.file_id ...
    finally: world.cleanup()

    with multiprocess_world() as world: ...     # metrics as under gunicorn
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

SETTINGS_MODULE = "bench.settings"
FILES = 20


@dataclass
class World:
    username: str
    token: str
    file_id: int
    database_url: str
    database_vendor: str
    temp_dir: str | None
    # Environment for server processes: same settings, same database.
    server_env: dict[str, str] = field(default_factory=dict)

    def cleanup(self) -> None:
        """Drop what the run created: the temporary database, or its rows."""
        if self.temp_dir is not None:
            from django.db import connections

            connections.close_all()
            shutil.rmtree(self.temp_dir, ignore_errors=True)
            return
        # A real database given by DATABASE_URL keeps its schema; only the
        # benchmark's user and files go.
        from apps.accounts.models import User
        from apps.files.models import File

        File.objects.filter(owner=self.username).delete()
        User.objects.filter(username=self.username).delete()


def _configure() -> tuple[str, str | None]:
    """Point the environment at the benchmark settings and database."""
    # The monolith is measured: every service served here, nothing forced
    # over HTTP unless a benchmark asks for it.
    for name in [key for key in os.environ if key.startswith("UCLOUD_")]:
        del os.environ[name]
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    temp_dir = None
    if not os.environ.get("DATABASE_URL"):
        temp_dir = tempfile.mkdtemp(prefix="ucloud-bench-")
        os.environ["DATABASE_URL"] = f"sqlite:///{temp_dir}/bench.sqlite3"
    return os.environ["DATABASE_URL"], temp_dir


def _seed(username: str) -> int:
    """Create the user and a few files; return the id of one of them."""
    from apps.accounts import services as accounts
    from apps.files import services as files

    accounts.user_create(username=username, password=uuid.uuid4().hex, role="USER")
    ids = [
        files.file_create(owner=username, path=f"/seed/{n}.txt", size=n)["id"] for n in range(FILES)
    ]
    return int(ids[0])


def prepare() -> World:
    import django

    database_url, temp_dir = _configure()
    django.setup()

    from django.core.management import call_command
    from django.db import connection

    from ucloud.auth.tokens import mint_access_token
    from ucloud.contracts.roles import Role

    username = f"bench-{uuid.uuid4().hex[:8]}"
    try:
        call_command("migrate", verbosity=0, interactive=False)
        file_id = _seed(username)
    except BaseException:
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    env: dict[str, Any] = dict(os.environ)
    return World(
        username=username,
        token=mint_access_token(username, Role.USER),
        file_id=file_id,
        database_url=database_url,
        database_vendor=connection.vendor,
        temp_dir=temp_dir,
        server_env=env,
    )


@contextmanager
def multiprocess_world() -> Iterator[World]:
    """``prepare()`` with metrics in multiprocess mode, as under gunicorn (the
    mode is chosen when the first metric is made, during Django's setup);
    the world and the metrics' folder go when the block ends."""
    metrics_dir = tempfile.mkdtemp(prefix="ucloud-bench-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        world = prepare()
        try:
            yield world
        finally:
            world.cleanup()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
