"""A copy of the project in a temporary folder, as a reader's clone would be.

The copy has the tracked files (no ``.git``, ``.env``, databases, caches),
``.venv`` pointing at this interpreter's virtual environment (so ``make``
installs nothing: ``.venv/.runtime`` is not remade), and runs with the
environment of a fresh shell: none of this test run's settings::

    folder = copy_project(tmp_path / "clone")
    make(folder, "secret-key")                 # as `make run` does first
    server = start_make_run(folder, port)      # `make run PORT=port`
    apply_file_block(folder, block)            # a README block that shows a file
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.readme.markdown import Block
from ucloud.deploy.processes import project_dir, start
from ucloud.testing.servers import ServerProcess

# Of this shell, what a reader's shell has too; nothing that configures the project.
KEPT_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TERM", "TMPDIR", "USER", "CI")
NOT_COPIED = (
    ".git", ".venv", ".run", ".env", "staticfiles", "__pycache__", "*.pyc", "*.sqlite3",
    ".pytest_cache", ".mypy_cache", ".ruff_cache", "out", "celerybeat-schedule*",
)  # fmt: skip
MAKE_TIMEOUT = 300.0


def fresh_environment() -> dict[str, str]:
    return {name: os.environ[name] for name in KEPT_VARIABLES if name in os.environ}


def copy_project(folder: Path) -> Path:
    """The project's files copied to ``folder``, with ``.venv`` linked to this one."""
    shutil.copytree(project_dir(), folder, ignore=shutil.ignore_patterns(*NOT_COPIED))
    (folder / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    return folder


def make_argv(*args: str) -> list[str]:
    # -o: the virtual environment is installed already; never reinstall into it.
    return ["make", "-o", ".venv/.runtime", "-o", ".venv/.dev", *args]


def make(folder: Path, *args: str) -> str:
    done = subprocess.run(
        make_argv(*args),
        cwd=folder,
        env=fresh_environment(),
        capture_output=True,
        text=True,
        timeout=MAKE_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"make {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout


def start_make_run(folder: Path, port: int) -> ServerProcess:
    """``make run PORT=port`` in the background, in a process group of its own."""
    log = folder / "make-run.log"
    process = start(make_argv("run", f"PORT={port}"), env=fresh_environment(), log=log, cwd=folder)
    return ServerProcess("make run", f"http://127.0.0.1:{port}", process, log, log)


_ADDED_ITEMS = re.compile(r"^(\w+) = \[\.\.\., (.+)\]$")


def extend_list(source: str, line: str) -> str:
    """``source`` with the items of ``NAME = [..., items]`` added to its list ``NAME``."""
    found = _ADDED_ITEMS.match(line)
    assert found, f"not a `NAME = [..., items]` line: {line!r}"
    name, items = found.groups()
    assignment = re.search(rf"^{name} = \[(.*?)\]$", source, re.M | re.S)
    assert assignment, f"no `{name} = [...]` to add to"
    present = ast.literal_eval(f"[{assignment.group(1)}]")
    added = ast.literal_eval(f"[{items}]")
    merged = f"{name} = {present + added!r}".replace("'", '"')
    return source[: assignment.start()] + merged + source[assignment.end() :]


def apply_file_block(folder: Path, block: Block) -> None:
    """Write a README block that shows a file (first line ``# apps/notes/api.py``).

    A new file is the block; a TOML block is appended to an existing file;
    in an existing Python file, a line ``NAME = [..., items]`` adds the items
    to the list ``NAME``, as a reader would edit it.
    """
    path = block.file_path()
    assert path is not None, f"README.md:{block.line}: the block names no file"
    target = folder / path
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.text + "\n")
    elif target.suffix == ".toml":
        target.write_text(target.read_text() + "\n" + block.text + "\n")
    else:
        source = target.read_text()
        for line in block.text.splitlines()[1:]:
            source = extend_list(source, line)
        target.write_text(source)
