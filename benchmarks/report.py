"""Writes one benchmark's figures into its own section of BENCHMARKS.md.

Each benchmark owns the text between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`, so
benchmarks can be re-run one at a time without disturbing the others' figures.
"""

from __future__ import annotations

import fcntl
import platform
import re
from datetime import date
from pathlib import Path

BENCHMARKS_MD = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


def machine_line() -> str:
    import os

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {date.today()}"


def write_section(name: str, command: str, body: str) -> None:
    """Replace (or append) the section NAME with the command that produced it and the figures."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    with open(BENCHMARKS_MD.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # benchmarks run side by side must not undo each other's sections
        _replace_section(start, end, command, body)


def _replace_section(start: str, end: str, command: str, body: str) -> None:
    section = f"{start}\n\nCommand: `{command}`  \nMachine: {machine_line()}\n\n{body.strip()}\n\n{end}"
    text = (
        BENCHMARKS_MD.read_text()
        if BENCHMARKS_MD.exists()
        else "# Benchmarks\n\nFigures written by the scripts in `benchmarks/`; each section names the command that produced it.\n"
    )
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
    BENCHMARKS_MD.write_text(text)
