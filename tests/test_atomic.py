"""atomic_write / atomic_open: the destination is the old file or the whole new one, with
nothing left beside it, and private files are never readable by others.

Why test the error path: a writer that fails half way (a full disk, an export whose query
raises) must leave the previous file untouched and no temporary file behind.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mediamatch.atomic import atomic_open, atomic_write


def test_writes_replace_the_file_and_leave_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "report.csv"
    atomic_write(target, "a,b\r\nc,d\r\n")
    assert target.read_bytes() == b"a,b\r\nc,d\r\n"  # text written as given, UTF-8
    atomic_write(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    atomic_write(target, "é")
    assert target.read_bytes() == "é".encode()
    assert os.listdir(tmp_path) == ["report.csv"]


def test_an_error_keeps_the_old_file_and_removes_the_temp(tmp_path: Path) -> None:
    target = tmp_path / "list.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="query failed"), atomic_open(target, "w", encoding="utf-8") as handle:
        handle.write("half of the new")
        raise RuntimeError("query failed")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["list.csv"]


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_private_files_are_0600_and_others_follow_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        atomic_write(tmp_path / "keys", "secret", private=True)
        atomic_write(tmp_path / "report.html", "<p>")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "report.html").stat().st_mode) == 0o644


def test_concurrent_writers_use_distinct_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "index"
    with atomic_open(target) as first, atomic_open(target) as second:
        assert len([name for name in os.listdir(tmp_path) if name.endswith(".tmp")]) == 2
        first.write(b"first")
        second.write(b"second")
    assert target.read_bytes() == b"first"  # the last to finish (the outer block) wins, whole
    assert os.listdir(tmp_path) == ["index"]


def test_only_write_modes_are_accepted(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mode"), atomic_open(tmp_path / "x", "ab"):
        pass
    assert not os.listdir(tmp_path)
