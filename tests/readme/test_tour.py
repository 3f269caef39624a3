"""The README's tour runs as written against ``make run`` in a fresh copy of the project."""

from __future__ import annotations

import pytest

from tests.readme.markdown import README, tagged_blocks
from tests.readme.project import start_make_run
from tests.readme.shell import steps_of
from ucloud.deploy.processes import stop_groups
from ucloud.testing.ports import free_port
from ucloud.testing.servers import wait_until_ready


@pytest.mark.e2e
def test_the_tour_answers_what_the_readme_shows(clone, shell_in):
    blocks = tagged_blocks(README.read_text(), "tour")
    assert blocks, "README.md has no block marked <!-- readme-test: tour -->"
    port = free_port()
    server = start_make_run(clone, port)
    try:
        wait_until_ready(server, deadline=120.0)
        shell = shell_in(clone)
        for block in blocks:
            for step in steps_of(block.text.replace("127.0.0.1:8000", f"127.0.0.1:{port}")):
                shell.run(step)
    finally:
        stop_groups([server.process.pid])
        server.process.wait()
