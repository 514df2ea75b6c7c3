"""Start-up is a feature: `mediamatch --help` lists every command without importing what only a
running command needs, and the compiled kernels are cached where this user can write them.

Timings are in benchmarks/bench_startup.py; these tests hold the cause (what gets imported), which
does not drift with the machine's load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

#: What `--help` must not import: the database stack, the hashing kernels, the server, the
#: services and stores behind the commands.
HEAVY = (
    "sqlalchemy",
    "alembic",
    "numba",
    "numpy",
    "PIL",
    "cv2",
    "av",
    "fastapi",
    "cryptography",
    "mediamatch.services",
    "mediamatch.store",
    "mediamatch.media",
)

LOADED_AFTER = """
import json, sys
from mediamatch.cli.main import app
try:
    app(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def modules_loaded(*argv: str) -> list[str]:
    """Every module imported by `mediamatch ARGV` in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", LOADED_AFTER, *argv], env=env, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stderr.strip().splitlines()[-1])


def heavy(modules: list[str]) -> list[str]:
    return [name for name in modules if any(name == root or name.startswith(root + ".") for root in HEAVY)]


@pytest.mark.parametrize("argv", [("--help",), ("exchange", "--help"), ("db", "--help"), ("hashlist", "--help")])
def test_help_imports_nothing_heavy(argv: tuple[str, ...]) -> None:
    assert heavy(modules_loaded(*argv)) == []


def test_a_command_imports_what_it_needs_when_it_runs(tmp_path: Path) -> None:
    """The check above would also pass if no command worked: `db init` must load the database stack."""
    loaded = modules_loaded("db", "init", "--db", f"sqlite:///{tmp_path / 'catalogue.sqlite'}")
    assert "sqlalchemy" in loaded and "mediamatch.store.db" in loaded
    assert "numba" not in loaded  # and only that


def test_compiled_kernels_are_cached_where_this_user_can_write() -> None:
    """numba caches beside the module, or in the user's cache folder where the package folder is
    read-only; either way the second start loads the kernels instead of compiling them."""
    numba = pytest.importorskip("numba")
    from mediamatch.index import hamming
    from mediamatch.signals import pdq_kernel

    kernels = [value for module in (pdq_kernel, hamming) for value in vars(module).values() if isinstance(value, numba.core.registry.CPUDispatcher)]
    assert kernels
    for kernel in kernels:
        assert type(kernel._cache).__name__ == "FunctionCache", f"{kernel.__name__} is compiled on every start: njit(cache=True)"
        folder = Path(kernel._cache._cache_path)
        folder.mkdir(parents=True, exist_ok=True)
        assert os.access(folder, os.W_OK), f"{kernel.__name__} would be compiled on every start: {folder} is read-only"
