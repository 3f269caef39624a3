"""The README's "Running services apart" runs as written: PostgreSQL, two gunicorns.

The database and the ports the README names are swapped for unique ones, so
that the run disturbs nothing; everything else is the README's text.
"""

from __future__ import annotations

import secrets
import shutil

import pytest

from tests.conftest import require
from tests.readme.markdown import README, tagged_blocks
from tests.readme.shell import steps_of
from ucloud.deploy.database_server import drop_databases, server_reachable
from ucloud.testing.ports import free_port

# The server the README's commands name.
SERVER = "postgres://postgres@127.0.0.1:5432/postgres"


@pytest.mark.e2e
def test_running_services_apart_answers_what_the_readme_shows(clone, shell_in):
    require(server_reachable(SERVER), f"PostgreSQL at {SERVER} (the README's server)")
    require(shutil.which("createdb") is not None, "createdb (Debian package postgresql-client)")
    blocks = tagged_blocks(README.read_text(), "apart")
    assert blocks, "README.md has no block marked <!-- readme-test: apart -->"
    database = f"ucloud_apart_{secrets.token_hex(4)}"
    swaps = {
        "ucloud_apart": database,
        "127.0.0.1:8001": f"127.0.0.1:{free_port()}",
        "127.0.0.1:8002": f"127.0.0.1:{free_port()}",
    }
    shell = shell_in(clone)
    try:
        for block in blocks:
            text = block.text
            for old, new in swaps.items():
                text = text.replace(old, new)
            for step in steps_of(text):
                shell.run(step)
    finally:
        shell.close()
        drop_databases(SERVER, [database])
