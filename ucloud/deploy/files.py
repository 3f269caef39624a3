"""Generated files: YAML as the generators write it, and writing a set to disk.

A generator returns ``{relative name: text}``; ``write_files`` puts them under
a folder, creating sub-folders, and leaves alone files that did not change::

    write_files({"Procfile": text, "env/files.env": env_text}, Path(".run"))
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

# Files that hold secrets (the env files of units) are readable by their owner only.
PRIVATE_SUFFIXES = (".env",)
# Scripts the deployment runs (secrets, database roles) are executable.
EXECUTABLE_SUFFIXES = (".sh",)


class _Dumper(yaml.SafeDumper):
    """Plain YAML: no anchors for repeated values, so each part reads on its own."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(data: Any) -> str:
    """Block-style YAML in insertion order, lines never folded."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=1000, default_flow_style=False)


def write_files(files: Mapping[str, str], out: Path) -> list[Path]:
    """Write ``files`` under ``out``; return the paths written, in name order."""
    written = []
    for name in sorted(files):
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[name])
        if name.endswith(PRIVATE_SUFFIXES):
            os.chmod(path, 0o600)
        elif name.endswith(EXECUTABLE_SUFFIXES):
            os.chmod(path, 0o755)
        written.append(path)
    return written
