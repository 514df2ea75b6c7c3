"""The layers of `src/mediamatch` point down only, and no two modules or packages import each other.

Front ends (cli, api, web) -> services -> the parts services compose (interop/hashlist,
index, media, store, audit, auth, distributed) -> signals -> plain records (catalog/, records,
auth's permission table, config). docs/architecture.md explains the layers; this test holds them.
Every import counts, including those inside functions and under `TYPE_CHECKING`: a deferred import
is still a dependency, it only moves the cost to run time.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "mediamatch"

#: Top layer first. A module belongs to the layer of its longest listed prefix, so a plain module
#: inside a package (auth's permission table) can sit lower than the package's other modules.
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    # The conformance kit (mediamatch.testing) is run by plugin authors and our tests, like a front end.
    ("front ends", frozenset({"mediamatch.cli", "mediamatch.api", "mediamatch.web", "mediamatch.testing"})),
    ("services", frozenset({"mediamatch.services", "mediamatch.distributed"})),
    (
        "components",
        frozenset(
            {
                "mediamatch.interop",
                "mediamatch.hashlist",
                "mediamatch.index",
                "mediamatch.media",
                "mediamatch.store",
                "mediamatch.audit",
                "mediamatch.auth",
            }
        ),
    ),
    ("signals", frozenset({"mediamatch.signals"})),
    (
        "plain records",
        frozenset(
            {
                "mediamatch",
                "mediamatch.catalog",
                "mediamatch.records",
                "mediamatch.config",
                "mediamatch.atomic",  # the one atomic file writer: standard library only
                # Roles and the permission table are plain data (no I/O, no imports of ours): the
                # user table in store/ stores a Role, and auth's account services use store's tables,
                # so the table sits below both rather than making store and auth import each other.
                "mediamatch.auth.permissions",
            }
        ),
    ),
)

#: Within one layer, packages may import each other in this direction only (importer, imported);
#: any other import across packages of one layer fails, and so would a cycle.
SAME_LAYER_ORDER: frozenset[tuple[str, str]] = frozenset(
    {
        ("mediamatch.cli", "mediamatch.api"),  # `serve` starts the server and the matcher
        ("mediamatch.api", "mediamatch.web"),  # the server's app factory installs the pages
        ("mediamatch.audit", "mediamatch.store"),  # the trail is a table in the catalogue
        ("mediamatch.auth", "mediamatch.store"),  # accounts and tokens are tables in the catalogue
    }
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {module_name(path): path for path in sorted((SRC / PACKAGE).rglob("*.py"))}


def imports_of(module: str) -> Iterator[str]:
    """Every module of ours that `module` imports, anywhere in its body."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            # `from mediamatch.cli import audit` imports the module mediamatch.cli.audit.
            targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else source for alias in node.names]
        else:
            continue
        yield from (target for target in targets if target == PACKAGE or target.startswith(PACKAGE + "."))


IMPORTS: dict[str, frozenset[str]] = {module: frozenset(imports_of(module)) for module in MODULES}


def owner(module: str) -> tuple[int, str]:
    """(layer index, the listed prefix that places it) for a module of ours."""
    best: tuple[int, str] | None = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            inside = module == prefix or (prefix != PACKAGE and module.startswith(prefix + "."))
            if inside and (best is None or len(prefix) > len(best[1])):
                best = (index, prefix)
    if best is None:
        raise LookupError(f"{module} is in no layer: add its package to LAYERS in {__file__}")
    return best


def edges() -> Iterator[tuple[str, str]]:
    for importer, imported in sorted(IMPORTS.items()):
        for target in sorted(imported):
            yield importer, target


def test_every_module_is_in_a_layer() -> None:
    unplaced = []
    for module in MODULES:
        try:
            owner(module)
        except LookupError:
            unplaced.append(module)
    assert not unplaced, f"add these to LAYERS: {unplaced}"


def test_imports_point_down_or_follow_the_same_layer_order() -> None:
    wrong = []
    for importer, target in edges():
        (low, low_prefix), (high, high_prefix) = owner(importer), owner(target)
        if high < low:
            wrong.append(f"{importer} ({LAYERS[low][0]}) imports {target} ({LAYERS[high][0]})")
        elif high == low and low_prefix != high_prefix and (low_prefix, high_prefix) not in SAME_LAYER_ORDER:
            wrong.append(f"{importer} imports {target}: {low_prefix} -> {high_prefix} is not in SAME_LAYER_ORDER")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_same_layer_order_has_no_cycle() -> None:
    follows: dict[str, set[str]] = {}
    for importer, imported in SAME_LAYER_ORDER:
        follows.setdefault(importer, set()).add(imported)
    cycles = _cycles(follows)
    assert not cycles, f"SAME_LAYER_ORDER goes both ways between: {cycles}"


def test_no_modules_import_each_other() -> None:
    graph = {module: set(targets) for module, targets in IMPORTS.items()}
    cycles = _cycles(graph)
    assert not cycles, f"modules that import each other: {cycles}"


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


@pytest.mark.parametrize(
    ("graph", "cyclic"),
    [({"a": {"b"}, "b": {"c"}, "c": set()}, False), ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, True), ({"a": {"b"}, "b": {"a"}}, True)],
)
def test_cycle_finder(graph: dict[str, set[str]], cyclic: bool) -> None:
    assert bool(_cycles(graph)) is cyclic
