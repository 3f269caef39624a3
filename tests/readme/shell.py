"""Shell blocks of the README run as a reader would: command by command, in one shell.

A step is one command (continuation lines and multi-line ``$(...)`` included)
and the output the README shows for it: the comment lines right under the
command. ``...`` in them stands for anything; JSON is compared after
decoding, so spacing does not matter. A comment that introduces the next
commands starts after a blank line::

    curl -s http://127.0.0.1:8000/status
    # {"status": "ok", "services": [...], ...}

    # Log in.                          <- no output of the command above
    TOKEN=$(curl -s ... | field access_token)

``Shell`` is one ``bash`` that stays alive between steps (variables, shell
functions and background jobs carry over), in a process group of its own
that ``close`` ends with everything it started. It runs with ``set -euo
pipefail``: a failing command ends it, and the step fails with its stderr.
"""

from __future__ import annotations

import json
import queue
import re
import secrets
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ucloud.deploy.processes import STOP_DEADLINE, stop_groups

STEP_DEADLINE = 120.0
# How long a step that only reads (a GET) is tried again until its output
# matches: events reach their processors after the producing request returned.
RETRY_DEADLINE = 30.0


@dataclass(frozen=True)
class Step:
    command: str
    expected: tuple[str, ...] = ()

    @property
    def reads_only(self) -> bool:
        """A curl GET: safe to send again."""
        return self.command.lstrip().startswith("curl ") and not re.search(
            r"\s(-X|-d|--data)\b", self.command
        )


def _continues(line: str, open_parens: int) -> bool:
    return line.rstrip().endswith("\\") or open_parens > 0


def steps_of(text: str) -> list[Step]:
    """The commands of a shell block, each with the output shown under it."""
    steps: list[Step] = []
    command: list[str] = []
    depth = 0
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        stripped = line.strip()
        if not command and (not stripped or stripped.startswith("#")):
            continue
        command.append(line)
        depth = max(depth + line.count("(") - line.count(")"), 0)
        if _continues(line, depth):
            continue
        expected = []
        while index < len(lines) and lines[index].startswith("# "):
            expected.append(lines[index][2:])
            index += 1
        steps.append(Step("\n".join(command), tuple(expected)))
        command, depth = [], 0
    return steps


def _normalised(output: str) -> str:
    try:
        return json.dumps(json.loads(output))
    except ValueError:
        return output.strip()


def output_matches(expected: tuple[str, ...], output: str) -> bool:
    """``output`` is what the README shows (``...``: anything)."""
    pattern = ".*?".join(re.escape(part) for part in "\n".join(expected).split("..."))
    return re.fullmatch(pattern, _normalised(output), re.S) is not None


class StepFailed(AssertionError):
    pass


class Shell:
    """One bash that runs the README's steps in ``cwd`` with ``env``."""

    def __init__(self, cwd: Path, env: Mapping[str, str], log_dir: Path) -> None:
        self.stderr = log_dir / f"shell-{secrets.token_hex(3)}.err"
        self.marker = f"--- step done {secrets.token_hex(8)} ---"
        with self.stderr.open("wb") as errors:
            self.process = subprocess.Popen(
                ["bash", "--noprofile", "--norc"],
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                start_new_session=True,
            )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self._send("set -euo pipefail")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _send(self, command: str) -> str:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{command}\nprintf '\\n%s\\n' '{self.marker}'\n")
        self.process.stdin.flush()
        output: list[str] = []
        give_up = time.monotonic() + STEP_DEADLINE
        while True:
            try:
                line = self.lines.get(timeout=max(give_up - time.monotonic(), 0.01))
            except queue.Empty:
                raise StepFailed(f"no end within {STEP_DEADLINE:.0f} s:\n{command}") from None
            if line is None:
                self.process.wait(timeout=STOP_DEADLINE)
                raise StepFailed(
                    f"the shell exited ({self.process.returncode}) at:\n{command}\n"
                    f"output: {''.join(output)}\nstderr: {self.errors()}"
                )
            if line.rstrip("\n") == self.marker:
                return "".join(output).removesuffix("\n")
            output.append(line)

    def run(self, step: Step) -> str:
        """Run ``step``; its output, which must be what the README shows."""
        give_up = time.monotonic() + RETRY_DEADLINE
        while True:
            output = self._send(step.command)
            if not step.expected or output_matches(step.expected, output):
                return output
            if not step.reads_only or time.monotonic() > give_up:
                shown = "\n".join(step.expected)
                raise StepFailed(
                    f"{step.command}\nREADME shows:\n{shown}\ngot:\n{output}\n"
                    f"stderr: {self.errors()}"
                )
            time.sleep(0.2)

    def errors(self) -> str:
        return self.stderr.read_text(errors="replace")[-4000:] if self.stderr.exists() else ""

    def close(self) -> None:
        """End the shell and everything it started (background jobs included)."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        stop_groups([self.process.pid])
        self.process.wait(timeout=STOP_DEADLINE)
