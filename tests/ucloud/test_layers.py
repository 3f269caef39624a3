"""The kit's modules import each other without cycles, layer on layer.

The import graph is read from the source with ``ast`` (nothing is
imported), counting function-local imports too, so that a local import
cannot hide a cycle; imports under ``if TYPE_CHECKING:`` are left out (they
never run). The layers, each importing only itself and those before it::

    contracts/                            calls, bindings, roles, pages, errors
    settings, registry, service, ...      the base
    auth/                                 principals, keys, tokens, authentication
    rpc/                                  pipeline, client and transports, HTTP server
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

KIT = Path(__file__).resolve().parents[2] / "ucloud"

# Layer name -> the modules in it; a module belongs to the first layer whose
# prefix it matches. Modules of no layer (events, locks, checks, health, ...)
# only have to stay out of cycles.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("contracts", ("ucloud.contracts",)),
    (
        "base",
        (
            "ucloud",
            "ucloud.settings",
            "ucloud.registry",
            "ucloud.service",
            "ucloud.databases",
            "ucloud.serving",
            # Hooks the RPC core, events and locks report to (metrics, spans).
            "ucloud.observers",
        ),
    ),
    ("auth", ("ucloud.auth",)),
    ("rpc", ("ucloud.rpc",)),
]

# The HTTP server side of the RPC layer: the client side never reaches it.
SERVER_SIDE = ("ucloud.rpc.controllers", "ucloud.rpc.routes", "ucloud.rpc.schema")
CLIENT_SIDE = ("ucloud.rpc.client", "ucloud.rpc.transports")


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Dotted name -> file of every module under ``root`` (a package named ``package``)."""
    found = {}
    for file in sorted(root.rglob("*.py")):
        parts = [package, *file.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = file
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _run_time_imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import under ``node`` that can run, at any depth."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        elif isinstance(child, ast.If) and _is_type_checking(child):
            for other in child.orelse:
                yield from _run_time_imports(ast.Module(body=[other], type_ignores=[]))
        else:
            yield from _run_time_imports(child)


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of ``modules`` it imports when it runs."""
    graph: dict[str, set[str]] = {}
    for name, file in modules.items():
        package = name if file.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _run_time_imports(ast.parse(file.read_text(), str(file))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
                continue
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets.add(base)
            targets.update(f"{base}.{alias.name}" for alias in node.names)
        # `import a.b.c` runs a and a.b first; a module's own packages are
        # left out: they run before it whatever it imports (a package's
        # __init__ importing its modules is no cycle).
        expanded = {
            ".".join(target.split(".")[: i + 1])
            for target in targets
            for i in range(target.count(".") + 1)
        }
        own = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        graph[name] = {t for t in expanded if t in modules and t != name and t not in own}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path (first module repeated at the end), or None."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        # Depth-first, iteratively: the path so far and each step's pending targets.
        path = [start]
        pending = [iter(sorted(graph[start]))]
        while path:
            target = next(pending[-1], None)
            if target is None:
                done.add(path.pop())
                pending.pop()
            elif target in path:
                return [*path[path.index(target) :], target]
            elif target not in done:
                path.append(target)
                pending.append(iter(sorted(graph[target])))
    return None


def layer_of(module: str) -> int | None:
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or (prefix != "ucloud" and module.startswith(prefix + ".")):
                return index
    return None


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in graph[todo.pop()] - seen:
            seen.add(target)
            todo.append(target)
    return seen


@pytest.fixture(scope="module")
def kit_graph() -> dict[str, set[str]]:
    return import_graph(module_names(KIT, "ucloud"))


def test_the_kit_has_no_import_cycle(kit_graph):
    cycle = find_cycle(kit_graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_each_layer_imports_only_itself_and_the_layers_before_it(kit_graph):
    upward = sorted(
        f"{module} ({LAYERS[layer][0]}) imports {target} "
        f"({'no layer' if target_layer is None else LAYERS[target_layer][0]})"
        for module, targets in kit_graph.items()
        if (layer := layer_of(module)) is not None
        for target in targets
        if (target_layer := layer_of(target)) is None or target_layer > layer
    )
    assert upward == []


def test_the_client_side_does_not_reach_the_http_server_side(kit_graph):
    reached = {side: reachable(kit_graph, side) & set(SERVER_SIDE) for side in CLIENT_SIDE}
    assert reached == {side: set() for side in CLIENT_SIDE}


def test_every_layer_is_populated(kit_graph):
    """A renamed package must not silently empty a layer (and this test)."""
    counts = {name: 0 for name, _ in LAYERS}
    for module in kit_graph:
        if (layer := layer_of(module)) is not None:
            counts[LAYERS[layer][0]] += 1
    assert all(count >= 1 for count in counts.values()), counts
    assert {*SERVER_SIDE, *CLIENT_SIDE} <= set(kit_graph)


def _package(tmp_path: Path, files: dict[str, str]) -> dict[str, set[str]]:
    root = tmp_path / "pkg"
    for name, text in {"__init__.py": "", **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return import_graph(module_names(root, "pkg"))


def test_a_cycle_hidden_in_a_function_local_import_is_found(tmp_path):
    graph = _package(
        tmp_path,
        {
            "a.py": "from pkg.b import helper\n",
            "b.py": "def helper():\n    from pkg import a\n    return a\n",
        },
    )
    assert find_cycle(graph) == ["pkg.a", "pkg.b", "pkg.a"]


def test_type_checking_imports_are_no_edges(tmp_path):
    graph = _package(
        tmp_path,
        {
            "a.py": "from pkg import b\n",
            "b.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from pkg.a import X\n"
                "else:\n    from pkg import c\n"
            ),
            "c.py": "",
        },
    )
    assert graph["pkg.b"] == {"pkg.c"}
    assert find_cycle(graph) is None


def test_relative_and_dotted_imports_are_resolved(tmp_path):
    graph = _package(
        tmp_path,
        {
            "sub/__init__.py": "from . import leaf\n",
            "sub/leaf.py": "from ..top import VALUE\n",
            "top.py": "import pkg.sub.leaf\nVALUE = 1\n",
        },
    )
    assert graph["pkg.sub"] == {"pkg.sub.leaf"}
    assert graph["pkg.sub.leaf"] == {"pkg.top"}
    assert graph["pkg.top"] == {"pkg.sub", "pkg.sub.leaf"}
    assert find_cycle(graph) == ["pkg.sub", "pkg.sub.leaf", "pkg.top", "pkg.sub"]
