"""The harness that runs the README: blocks found, steps split, outputs compared."""

from __future__ import annotations

import pytest

from tests.readme.markdown import README, tagged_blocks
from tests.readme.project import extend_list
from tests.readme.shell import Step, StepFailed, output_matches, steps_of

BLOCK = """\
# A comment before the first command.
A=$(echo one \\
    two)
echo "$A"
# one two

# Introduces the next command; not an output.
curl -s http://127.0.0.1:8000/status
# {"status": "ok", ...}
"""


def test_steps_are_commands_with_the_comment_lines_right_under_them():
    assert steps_of(BLOCK) == [
        Step("A=$(echo one \\\n    two)"),
        Step('echo "$A"', ("one two",)),
        Step("curl -s http://127.0.0.1:8000/status", ('{"status": "ok", ...}',)),
    ]


def test_only_a_curl_without_a_body_or_method_is_sent_again():
    assert Step("curl -s http://x/status").reads_only
    assert not Step("curl -s http://x/api/files -d '{}'").reads_only
    assert not Step("curl -s -X DELETE http://x/api/files").reads_only
    assert not Step("kill %1").reads_only


def test_json_is_compared_decoded_and_dots_stand_for_anything():
    shown = ('{"access_token": "eyJ...", "next": null}',)
    assert output_matches(shown, '{"access_token":"eyJhbGciOi","next":null}')
    assert not output_matches(shown, '{"access_token":"xyz","next":null}')
    assert not output_matches(shown, '{"access_token":"eyJ","next":null,"more":1}')
    assert output_matches(("...", "1 passed in ..."), ".   [100%]\n1 passed in 0.5s")


def test_the_shell_keeps_its_variables_and_checks_each_output(tmp_path, shell_in):
    shell = shell_in(tmp_path)
    for step in steps_of(BLOCK.split("# Introduces")[0]):
        shell.run(step)
    with pytest.raises(StepFailed, match="README shows"):
        shell.run(Step('echo "$A"', ("one three",)))


def test_a_failing_command_fails_its_step_with_its_error(tmp_path, shell_in):
    shell = shell_in(tmp_path)
    with pytest.raises(StepFailed, match="no-such-file"):
        shell.run(Step("cat no-such-file"))


def test_the_readme_has_every_tested_section():
    text = README.read_text()
    for tag in ("tour", "apart", "service"):
        assert tagged_blocks(text, tag), tag
    files = [block.file_path() for block in tagged_blocks(text, "service")]
    assert "apps/notes/api.py" in files
    assert "config/topology.toml" in files


def test_a_list_line_with_dots_adds_its_items_to_the_existing_list():
    source = 'A = 1\nSERVICE_APPS = ["apps.a", "apps.b"]\nB = 2\n'
    extended = extend_list(source, 'SERVICE_APPS = [..., "apps.notes"]')
    assert extended == 'A = 1\nSERVICE_APPS = ["apps.a", "apps.b", "apps.notes"]\nB = 2\n'
