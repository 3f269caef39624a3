"""The README's tested code blocks: each fenced block preceded by a marker comment.

A block the tests run is announced by an HTML comment, invisible on the
rendered page, on the line right before its fence::

    <!-- readme-test: tour -->
    ```sh
    curl -s http://127.0.0.1:8000/status
    ```

    blocks = tagged_blocks(README.read_text(), "tour")    # in the order of the README
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
_TAGGED = re.compile(r"^<!-- readme-test: ([\w-]+) -->\n```(\w*)\n(.*?)^```$", re.M | re.S)


@dataclass(frozen=True)
class Block:
    tag: str
    language: str
    text: str
    line: int  # of the opening fence in README.md, for failure messages

    def file_path(self) -> str | None:
        """The file a code block shows, named by its first line (``# apps/notes/api.py``)."""
        first = self.text.splitlines()[0] if self.text else ""
        found = re.fullmatch(r"# ([\w./-]+\.\w+)", first.strip())
        return found.group(1) if found else None


def tagged_blocks(text: str, tag: str) -> list[Block]:
    """The blocks marked ``<!-- readme-test: tag -->``, in order."""
    found = []
    for match in _TAGGED.finditer(text):
        if match.group(1) == tag:
            line = text.count("\n", 0, match.start()) + 2
            found.append(Block(tag, match.group(2), match.group(3), line))
    return found
