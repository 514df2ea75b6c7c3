"""Archives in folders and archives in archives are opened, within the same limits as the
outermost one: names say where a member lies (`drive.zip!/photos/a.jpg`), `../` is refused at
every level, nesting and memory are bounded, and the outermost archive's budget covers all.
"""

from __future__ import annotations

import contextlib
import gc
import gzip
import io
import os
import random
import struct
import sys
import tarfile
import tempfile
import zipfile
import zlib
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mediamatch.media.archive as archive_module
from mediamatch.catalog.hashes import BytesSource, SpooledSource
from mediamatch.media.archive import ArchiveError, Entry, is_archive, iter_archive
from mediamatch.media.collection import iter_collection
from mediamatch.media.hashing import hash_bytes, hash_many
from mediamatch.media.spool import read_spooled


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tar_bytes(members: dict[str, bytes], mode: str = "w") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def listing(entries: list[Entry]) -> dict[str, bytes | str]:
    """Each entry's name with its bytes, or its error."""
    return {entry.name: entry.source.data if isinstance(entry.source, BytesSource) else (entry.error or "") for entry in entries}


@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2", "w:xz"])
def test_archives_in_a_folder_are_opened_in_place(mode: str, tmp_path: Path) -> None:
    folder = tmp_path / "drive"
    (folder / "backup").mkdir(parents=True)
    (folder / "a.txt").write_bytes(b"plain")
    (folder / "backup" / "photos.tar").write_bytes(tar_bytes({"2019/x.jpg": b"x-bytes", "2019/y.jpg": b"y-bytes"}, mode))
    (folder / "backup" / "phone.zip").write_bytes(zip_bytes({"DCIM/z.jpg": b"z-bytes"}))
    found = listing(list(iter_collection(folder)))
    assert found == {
        "a.txt": "",  # a file on disk: its Entry carries the path, not bytes
        "backup/phone.zip!/DCIM/z.jpg": b"z-bytes",
        "backup/photos.tar!/2019/x.jpg": b"x-bytes",
        "backup/photos.tar!/2019/y.jpg": b"y-bytes",
    }
    assert len(list(iter_collection(folder, open_archives=False))) == 3  # the cheap count for progress


def test_archives_in_archives_are_opened_with_their_path(tmp_path: Path) -> None:
    innermost = zip_bytes({"deep.jpg": b"deep"})
    inner_tar = tar_bytes({"photos/innermost.zip": innermost, "photos/b.jpg": b"b"}, "w:gz")
    outer = zip_bytes({"a.jpg": b"a", "backups/inner.tar.gz": inner_tar, "z.jpg": b"z"})
    (tmp_path / "seized.zip").write_bytes(outer)
    assert listing(list(iter_archive(tmp_path / "seized.zip"))) == {
        "a.jpg": b"a",
        "backups/inner.tar.gz!/photos/innermost.zip!/deep.jpg": b"deep",
        "backups/inner.tar.gz!/photos/b.jpg": b"b",
        "z.jpg": b"z",
    }


def test_traversal_and_links_are_refused_inside_inner_archives(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        link = tarfile.TarInfo("link.jpg")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/shadow"
        archive.addfile(link)
    inner = zip_bytes({"../../escape.jpg": b"e", "/abs.jpg": b"a", "ok.jpg": b"ok"})
    (tmp_path / "outer.zip").write_bytes(zip_bytes({"inner.zip": inner, "links.tar": buffer.getvalue()}))
    found = listing(list(iter_archive(tmp_path / "outer.zip")))
    assert "path traversal" in found["inner.zip!/../../escape.jpg"]
    assert "path traversal" in found["inner.zip!//abs.jpg"]
    assert found["inner.zip!/ok.jpg"] == b"ok"
    assert "link" in found["links.tar!/link.jpg"]


def test_nesting_is_limited(tmp_path: Path) -> None:
    data = zip_bytes({"bottom.jpg": b"bottom"})
    for level in range(archive_module.MAX_NESTING):
        data = zip_bytes({f"level{level}.zip": data})
    (tmp_path / "deep.zip").write_bytes(data)
    (entry,) = iter_archive(tmp_path / "deep.zip")
    assert entry.name.count("!/") == archive_module.MAX_NESTING - 1
    assert entry.source is None and "nested more than" in (entry.error or "")


def test_inner_archives_held_in_memory_are_bounded(tmp_path: Path, monkeypatch) -> None:
    big_inner = zip_bytes({"big.bin": bytes(range(256)) * 64})
    monkeypatch.setattr(archive_module, "MAX_HELD_BYTES", len(big_inner) - 1)
    (tmp_path / "outer.zip").write_bytes(zip_bytes({"inner.zip": big_inner, "small.jpg": b"s"}))
    found = listing(list(iter_archive(tmp_path / "outer.zip")))
    assert "in memory" in found["inner.zip"]
    assert found["small.jpg"] == b"s"


def test_the_outermost_budget_covers_inner_archives(tmp_path: Path, monkeypatch) -> None:
    payload = bytes(range(256)) * 16  # 4 kB that barely compresses
    inner = zip_bytes({f"{n}.bin": payload for n in range(4)})
    outer = zip_bytes({"inner-1.zip": inner, "inner-2.zip": inner})
    (tmp_path / "outer.zip").write_bytes(outer)
    # room for both inner archives and five of their eight members
    monkeypatch.setattr(archive_module, "MAX_TOTAL_BYTES", 2 * len(inner) + 5 * len(payload) + 10)
    found = listing(list(iter_archive(tmp_path / "outer.zip")))
    read = [name for name, value in found.items() if value == payload]
    refused = [name for name, value in found.items() if isinstance(value, str) and "limit" in value]
    assert len(read) == 5 and len(refused) == 3


def test_a_damaged_archive_is_one_error_row(tmp_path: Path) -> None:
    damaged = bytearray(zip_bytes({"a.jpg": b"a" * 1000}))
    central = damaged.rfind(b"PK\x01\x02")
    damaged[central : central + 4] = b"XXXX"  # the central directory entry no longer parses
    folder = tmp_path / "drive"
    folder.mkdir()
    (folder / "broken.zip").write_bytes(bytes(damaged))
    (folder / "inside.zip").write_bytes(zip_bytes({"broken.zip": bytes(damaged), "fine.jpg": b"f"}))
    found = listing(list(iter_collection(folder)))
    assert "cannot be opened" in found["broken.zip"] and "zip directory" in found["broken.zip"]
    assert "cannot be opened" in found["inside.zip!/broken.zip"]
    assert found["inside.zip!/fine.jpg"] == b"f"


def test_a_truncated_inner_tar_keeps_what_was_read(tmp_path: Path) -> None:
    noise = random.Random(1).randbytes  # incompressible, so the cut falls in the second member
    inner = tar_bytes({"a.jpg": noise(3000), "b.jpg": noise(3000)}, "w:gz")
    (tmp_path / "outer.zip").write_bytes(zip_bytes({"inner.tar.gz": inner[: len(inner) - 1500]}))
    entries = list(iter_archive(tmp_path / "outer.zip"))
    assert entries[0].name == "inner.tar.gz!/a.jpg" and entries[0].source is not None
    assert all(entry.name.startswith("inner.tar.gz!/") for entry in entries)
    assert any(entry.error for entry in entries)


def test_archives_are_recognised_by_their_bytes(tmp_path: Path) -> None:
    (tmp_path / "photo.jpg").write_bytes(zip_bytes({"a": b"a"}))  # a zip renamed .jpg
    (tmp_path / "notes.gz").write_bytes(gzip.compress(b"just text, not a tar"))
    (tmp_path / "fake.zip").write_bytes(b"PK\x03\x04 not really")
    assert is_archive(tmp_path / "photo.jpg")
    assert not is_archive(tmp_path / "notes.gz")
    assert not is_archive(tmp_path / "fake.zip")
    with pytest.raises(ArchiveError):
        list(iter_archive(tmp_path / "notes.gz"))


@cache
def archive_seeds() -> dict[str, bytes]:
    inner = zip_bytes({"inner/a.jpg": b"a" * 300, "inner/b.jpg": bytes(range(256))})
    members = {"photos/1.jpg": b"1" * 500, "photos/inner.zip": inner, "notes.txt": b"text " * 50}
    return {
        "stored.zip": zip_bytes(members),
        "plain.tar": tar_bytes(members),
        "gzip.tar.gz": tar_bytes(members, "w:gz"),
        "bzip2.tar.bz2": tar_bytes(members, "w:bz2"),
        "xz.tar.xz": tar_bytes(members, "w:xz"),
        "stored.rar": rar4_bytes(members),
    } | _seven_zip_seed(members)


def _seven_zip_seed(members: dict[str, bytes]) -> dict[str, bytes]:
    with contextlib.suppress(ImportError), tempfile.TemporaryDirectory() as tmp:
        return {"solid.7z": written_7z(members, Path(tmp))}
    return {}


@st.composite
def mutated_archive(draw: st.DrawFn) -> bytes:
    data = bytearray(archive_seeds()[draw(st.sampled_from(sorted(archive_seeds())))])
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data) - 1)) if data else 0
        kind = draw(st.sampled_from(["flip", "truncate", "field"]))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[at:]
        else:
            value = draw(st.sampled_from([0, 1, 0x7F, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF]))
            data[at : at + 4] = value.to_bytes(4, "little")
    return bytes(data)


@settings(
    max_examples=int(os.environ.get("MEDIAMATCH_ARCHIVE_FUZZ_EXAMPLES", "300")),
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(mutated_archive())
def test_mutated_archives_never_raise_past_the_collection(data: bytes) -> None:
    """A damaged archive in a folder is rows (members, or one error); only an unreadable archive
    given as the whole collection raises, as ArchiveError, which triage turns into one row."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "drive.bin").write_bytes(data)
        entries = list(iter_collection(folder))
        assert entries and all(entry.name.startswith("drive.bin") for entry in entries)
        with contextlib.suppress(ArchiveError):
            list(iter_archive(folder / "drive.bin"))


def test_a_member_without_a_name_is_an_error_row(tmp_path: Path) -> None:
    """Found by the fuzzer: zipfile's is_dir() fails on an empty name."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("x"), b"data")
        archive.writestr("ok.jpg", b"ok")
    data = bytearray(buffer.getvalue())
    central = data.find(b"PK\x01\x02")  # the directory record of "x": its name becomes its comment
    data[central + 28 : central + 30] = (0).to_bytes(2, "little")
    data[central + 32 : central + 34] = (1).to_bytes(2, "little")
    (tmp_path / "nameless.zip").write_bytes(bytes(data))
    found = listing(list(iter_archive(tmp_path / "nameless.zip")))
    assert "empty" in found[""] and found["ok.jpg"] == b"ok"


def test_an_archive_listing_no_file_is_one_row(tmp_path: Path) -> None:
    folder = tmp_path / "drive"
    folder.mkdir()
    (folder / "empty.zip").write_bytes(zip_bytes({}))
    (folder / "outer.zip").write_bytes(zip_bytes({"empty.tar.gz": tar_bytes({}, "w:gz"), "a.jpg": b"a"}))
    found = listing(list(iter_collection(folder)))
    assert "lists no file" in found["empty.zip"] and "lists no file" in found["outer.zip!/empty.tar.gz"]
    assert found["outer.zip!/a.jpg"] == b"a"


def test_large_members_are_spooled_encrypted_hashed_alike_and_removed(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(archive_module, "SPOOL_BYTES", 64 * 1024)
    marker = b"plain member bytes " * 8192  # 152 kB, past the spool threshold
    inner = zip_bytes({"deep.bin": marker[::-1], "noise.bin": random.Random(5).randbytes(100_000)})  # past the threshold too
    (tmp_path / "drive.zip").write_bytes(zip_bytes({"big.bin": marker, "small.jpg": b"s", "inner.zip": inner}))
    entries = {entry.name: entry for entry in iter_archive(tmp_path / "drive.zip")}
    big = entries["big.bin"].source
    assert isinstance(big, SpooledSource) and big.name == "big.bin" and big.size == len(marker)
    assert isinstance(entries["small.jpg"].source, BytesSource)
    assert b"plain member bytes" not in big.path.read_bytes()  # encrypted on disk
    assert big.path.stat().st_mode & 0o777 == 0o600
    assert read_spooled(big) == marker
    deep = entries["inner.zip!/deep.bin"].source  # a spooled archive is opened too
    assert isinstance(deep, SpooledSource) and read_spooled(deep) == marker[::-1]
    records = list(hash_many([big, entries["small.jpg"].source], workers=2))  # workers read a copy; the file stays
    assert records[0].path == "big.bin" and records[0].signals == hash_bytes(marker, "big.bin").signals
    spooled = big.path
    assert spooled.exists()
    del big, deep, entries, records
    gc.collect()
    assert not spooled.exists()  # removed with the last reference in the process that spooled it


def seven_zip_bytes(members: dict[str, bytes], tmp_path: Path) -> bytes:
    pytest.importorskip("libarchive", reason="7z needs the archives extra (libarchive-c and the system libarchive)")
    return written_7z(members, tmp_path)


def written_7z(members: dict[str, bytes], tmp_path: Path) -> bytes:
    import libarchive

    path = tmp_path / "made.7z"
    with libarchive.file_writer(str(path), "7zip") as writer:
        for name, data in members.items():
            writer.add_file_from_memory(name, len(data), data)
    data = path.read_bytes()
    path.unlink()
    return data


def rar4_bytes(members: dict[str, bytes]) -> bytes:
    """A RAR 4 archive of stored (uncompressed) members, made by hand: no free tool writes RAR."""

    def block(kind: int, flags: int, body: bytes, data: bytes = b"") -> bytes:
        header = struct.pack("<BHH", kind, flags, 7 + len(body)) + body
        return struct.pack("<H", zlib.crc32(header) & 0xFFFF) + header + data

    out = b"Rar!\x1a\x07\x00" + block(0x73, 0, bytes(6))  # marker, archive header
    for name, data in members.items():
        raw = name.encode()
        # sizes, host OS 3 (Unix), CRC, DOS time, version 2.0, method 0x30 (stored), name length, Unix mode
        body = struct.pack("<IIBIIBBHI", len(data), len(data), 3, zlib.crc32(data), 0x5A000000, 20, 0x30, len(raw), 0o100644) + raw
        out += block(0x74, 0x8000, body, data)
    return out + b"\xc4\x3d\x7b\x00\x40\x07\x00"  # end of archive


def test_7z_and_rar_in_folders_and_archives_are_opened_within_the_same_rules(tmp_path: Path) -> None:
    seven = seven_zip_bytes({"DCIM/a.jpg": b"a-bytes", "../escape.jpg": b"x"}, tmp_path)
    rar = rar4_bytes({"photos/b.jpg": b"b-bytes", "/etc/passwd": b"x"})
    folder = tmp_path / "drive"
    folder.mkdir()
    (folder / "phone.7z").write_bytes(seven)
    (folder / "old.rar").write_bytes(rar)
    (folder / "backup.zip").write_bytes(zip_bytes({"inner.7z": seven, "inner.rar": rar}))
    found = listing(list(iter_collection(folder)))
    assert found["phone.7z!/DCIM/a.jpg"] == b"a-bytes"
    assert found["old.rar!/photos/b.jpg"] == b"b-bytes"
    assert found["backup.zip!/inner.7z!/DCIM/a.jpg"] == b"a-bytes"
    assert found["backup.zip!/inner.rar!/photos/b.jpg"] == b"b-bytes"
    assert "path traversal" in str(found["phone.7z!/../escape.jpg"]) and "path traversal" in str(found["backup.zip!/inner.7z!/../escape.jpg"])
    assert "absolute" in str(found["old.rar!//etc/passwd"])
    assert is_archive(folder / "phone.7z") and is_archive(folder / "old.rar")


def test_a_7z_bomb_member_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(archive_module, "MAX_MEMBER_BYTES", 1_000_000)
    (tmp_path / "bomb.7z").write_bytes(seven_zip_bytes({"zeros.bin": bytes(5_000_000), "ok.jpg": b"ok"}, tmp_path))
    found = listing(list(iter_archive(tmp_path / "bomb.7z")))
    assert "limit" in str(found["zeros.bin"]) and found["ok.jpg"] == b"ok"


def test_without_the_archives_extra_a_7z_is_an_error_row_naming_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "libarchive", None)  # as if libarchive-c were not installed
    folder = tmp_path / "drive"
    folder.mkdir()
    (folder / "old.rar").write_bytes(rar4_bytes({"b.jpg": b"b"}))
    [entry] = list(iter_collection(folder))
    assert entry.name == "old.rar" and entry.source is None and "mediamatch[archives]" in (entry.error or "")
