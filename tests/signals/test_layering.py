"""Signals sit just above the plain records: nothing in `signals/` or `catalog/` imports a
layer above it (media, store, services, front ends), so any layer may use a signal."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "mediamatch"
ALLOWED = {"signals": ("mediamatch.signals", "mediamatch.catalog"), "catalog": ("mediamatch.catalog",)}


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_nothing_imports_upward(package: str) -> None:
    for path in sorted((SRC / package).rglob("*.py")):
        upward = {name for name in imported_modules(path) if name.startswith("mediamatch") and not name.startswith(ALLOWED[package])}
        assert not upward, f"{path.relative_to(SRC)} imports {sorted(upward)}"
