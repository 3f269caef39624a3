"""The README's "Writing a service" builds a working service, as written.

In a fresh copy of the project, the section's blocks are applied in order:
a block whose first line names a file is written to the copy
(``apply_file_block``), a shell block runs. The section's own commands
then migrate, record the contract, pass the system checks, generate the
deployment and run the service's test.
"""

from __future__ import annotations

import pytest

from tests.readme.markdown import README, tagged_blocks
from tests.readme.project import apply_file_block
from tests.readme.shell import steps_of


@pytest.mark.e2e
def test_the_service_of_the_readme_migrates_passes_its_checks_and_answers(
    clone, shell_in, tmp_path
):
    blocks = tagged_blocks(README.read_text(), "service")
    assert blocks, "README.md has no block marked <!-- readme-test: service -->"
    shell = shell_in(clone)
    deploy_out = tmp_path / "deploy"
    for block in blocks:
        path = block.file_path()
        if path is not None:
            apply_file_block(clone, block)
            continue
        assert block.language == "sh", f"README.md:{block.line}: neither a file nor commands"
        for step in steps_of(block.text.replace("/tmp/ucloud-deploy", str(deploy_out))):
            shell.run(step)

    # What the section promises besides its commands' answers.
    assert '"notes.create"' in (clone / "contracts.lock").read_text()
    assert list((clone / "apps/notes/migrations").glob("0001_*.py"))
    nginx = (deploy_out / "nginx" / "nginx.conf").read_text()
    assert "location /api/notes" in nginx
