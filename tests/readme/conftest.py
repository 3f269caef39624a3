"""Fixtures of the README's tests: a fresh copy of the project, and a shell in it.

def test_steps(clone, shell_in):
    shell = shell_in(clone)
    shell.run(Step("ls"))
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from tests.conftest import require
from tests.readme.project import copy_project, fresh_environment, make
from tests.readme.shell import Shell


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """The project copied as a reader's clone, after ``make secret-key`` (as ``make run``)."""
    require(shutil.which("make") is not None, "make")
    require(shutil.which("curl") is not None, "curl (Debian package curl)")
    folder = copy_project(tmp_path / "clone")
    make(folder, "secret-key")
    return folder


@pytest.fixture
def shell_in(tmp_path: Path) -> Iterator[Callable[..., Shell]]:
    """Shells in a folder with a fresh environment; each is ended with all it started."""
    shells: list[Shell] = []

    def open_shell(folder: Path, extra: Mapping[str, str] | None = None) -> Shell:
        shell = Shell(folder, {**fresh_environment(), **(extra or {})}, tmp_path)
        shells.append(shell)
        return shell

    yield open_shell
    for shell in shells:
        shell.close()
