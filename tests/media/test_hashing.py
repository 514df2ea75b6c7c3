"""Hashing files: digests equal hashlib's, limits turn into error records, and the parallel
batch streams records in input order, equal to hashing one by one, a bad file costing only itself.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mediamatch.catalog.hashes import BytesSource, HashRecord
from mediamatch.media.hashing import hash_bytes, hash_many, hash_source
from mediamatch.media.limits import Limits


def image_bytes(seed: int, fmt: str = "PNG", size: tuple[int, int] = (96, 64)) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGB").resize(size, Image.Resampling.BILINEAR)
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def expected_digests(data: bytes) -> tuple[str, str, str]:
    return hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest(), hashlib.sha256(data).hexdigest()


def digests(record: HashRecord) -> tuple[str | None, str | None, str | None]:
    return record.value("md5"), record.value("sha1"), record.value("sha256")


@pytest.fixture
def mixed_files(tmp_path: Path) -> list[Path]:
    """Good images (PNG and JPEG), a text file, an empty file, a truncated JPEG, a missing path."""
    files: list[Path] = []
    for seed in range(10):
        fmt = "PNG" if seed % 2 else "JPEG"
        path = tmp_path / f"img{seed:02d}.{fmt.lower()}"
        path.write_bytes(image_bytes(seed, fmt))
        files.append(path)
    text = tmp_path / "notes.txt"
    text.write_text("case notes, not media\n")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(image_bytes(99, "JPEG", (640, 480))[:1500])
    missing = tmp_path / "gone.png"
    files[3:3] = [text, empty]
    files[8:8] = [truncated, missing]
    return files


BAD = {"empty.jpg", "truncated.jpg", "gone.png"}


@pytest.mark.parametrize(
    "data",
    [image_bytes(1), image_bytes(2, "JPEG"), b"plain text\n", bytes(range(256)) * 1000, b""],
    ids=["png", "jpeg", "text", "binary", "empty"],
)
def test_digests_equal_hashlib(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "file.bin"
    path.write_bytes(data)
    for record in (hash_source(path), hash_source(str(path)), hash_bytes(data, "file.bin"), hash_source(BytesSource("m", data))):
        assert digests(record) == expected_digests(data)
        assert record.size == len(data)
    assert hash_source(path).path == str(path)
    assert hash_source(BytesSource("archive.zip/member.png", data)).path == "archive.zip/member.png"


def test_image_record_has_pdq_and_size(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(image_bytes(7, size=(120, 80)))
    record = hash_source(path)
    assert record.error is None and record.media_type == "image/png"
    assert record.value("pdq") is not None and len(record.value("pdq")) == 64 and record.value("pdq") == record.value("pdq").lower()
    assert (record.width, record.height) == (120, 80)
    assert record.quality("pdq") is not None and 0 <= record.quality("pdq") <= 100


def test_non_image_has_digests_but_no_pdq(tmp_path: Path) -> None:
    path = tmp_path / "doc.pdf"
    path.write_bytes(b"%PDF-1.4\n%fake\n")
    record = hash_source(path)
    assert record.error is None and record.value("pdq") is None and record.media_type == "application/pdf"
    assert digests(record) == expected_digests(path.read_bytes())


def test_file_over_size_limit_is_an_error_record(tmp_path: Path) -> None:
    data = image_bytes(3)
    path = tmp_path / "big.png"
    path.write_bytes(data)
    limits = Limits(max_file_bytes=len(data) - 1)
    for record in (hash_source(path, limits), hash_source(BytesSource("big.png", data), limits)):
        assert record.error is not None and "limit" in record.error and f"{len(data) - 1:,}" in record.error
        assert record.size == len(data)
        assert record.value("md5") is None and record.value("pdq") is None  # refused before reading
    at_limit = hash_source(path, Limits(max_file_bytes=len(data)))
    assert at_limit.error is None and at_limit.value("pdq") is not None


def test_pixel_limit_reaches_the_decoder(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(image_bytes(4, size=(100, 100)))
    record = hash_source(path, Limits(max_pixels=9_999))
    assert record.error is not None and "pixel limit" in record.error
    assert record.value("sha256") == hashlib.sha256(path.read_bytes()).hexdigest()  # digests survive a refusal
    assert hash_source(path, Limits(max_pixels=10_000)).error is None


def test_missing_file_and_directory_are_error_records(tmp_path: Path) -> None:
    missing = hash_source(tmp_path / "nope.jpg")
    assert missing.error is not None and "not found" in missing.error and missing.size is None
    folder = hash_source(tmp_path)
    assert folder.error is not None and "not a regular file" in folder.error


def test_hash_many_matches_single_process_in_input_order(mixed_files: list[Path]) -> None:
    single = [hash_source(path) for path in mixed_files]
    parallel = list(hash_many(mixed_files, workers=2))
    assert [record.path for record in parallel] == [str(path) for path in mixed_files]
    assert parallel == single
    assert list(hash_many(mixed_files, workers=1)) == single
    for record in parallel:
        name = Path(record.path).name
        if name in BAD:
            assert record.error is not None, name
        else:
            assert record.error is None, (name, record.error)
            assert record.value("sha256") is not None
    assert sum(record.value("pdq") is not None for record in parallel) == 10  # every good image, nothing else


def test_hash_many_accepts_archive_members_and_paths_together(tmp_path: Path) -> None:
    path = tmp_path / "disk.png"
    path.write_bytes(image_bytes(5))
    sources = [BytesSource("zip/a.png", image_bytes(6)), path, BytesSource("zip/empty", b""), str(path)]
    records = list(hash_many(sources, workers=2))
    assert [r.path for r in records] == ["zip/a.png", str(path), "zip/empty", str(path)]
    assert records[0].value("pdq") is not None and records[2].error is not None
    assert records[1] == records[3] == hash_source(path)


def test_hash_many_streams_without_reading_all_input(tmp_path: Path) -> None:
    """A million-file walk must not be queued up front: the first record arrives after only
    a bounded number of sources have been taken from the iterator."""
    path = tmp_path / "small.png"
    path.write_bytes(image_bytes(8, size=(32, 32)))
    total = 400
    taken = 0

    def walk() -> Iterator[Path]:
        nonlocal taken
        for _ in range(total):
            taken += 1
            yield path

    records = hash_many(walk(), workers=2)
    first = next(records)
    assert first.error is None and first.path == str(path)
    assert taken < total // 2
    records.close()  # stopping early shuts the pool down instead of hashing the rest
    assert taken < total // 2


class WorkerKiller(os.PathLike[str]):
    """A source whose unpickling kills the worker process, as a decoder crash on a hostile
    file would; the parent still sees a normal path-like name."""

    def __fspath__(self) -> str:
        return "crasher.jpg"

    def __reduce__(self) -> tuple[object, tuple[int]]:
        return (os._exit, (3,))


def test_a_worker_crash_costs_only_the_crashing_file(mixed_files: list[Path]) -> None:
    good = [path for path in mixed_files if path.name not in BAD]
    sources: list[object] = [*good[:4], WorkerKiller(), *good[4:]]
    records = list(hash_many(sources, workers=2))  # type: ignore[arg-type]
    assert [r.path for r in records] == [os.fspath(s) for s in sources]  # type: ignore[call-overload]
    crashed = records[4]
    assert crashed.error is not None and "crash" in crashed.error
    assert [r for r in records if r is not crashed] == [hash_source(path) for path in good]


def test_a_worker_crash_does_not_blame_the_file_hashed_beside_it(tmp_path: Path) -> None:
    """The file another worker was hashing when the crash happened is innocent.

    A slow file sits right before the crasher, so with two workers it is still being hashed
    when the other worker dies and its future fails with BrokenProcessPool too."""
    slow = tmp_path / "slow.png"
    y, x = np.mgrid[0:2400, 0:2400]
    Image.fromarray(((x * 7 + y * 3) % 256).astype(np.uint8)).save(slow)
    quick = []
    for seed in range(4):
        path = tmp_path / f"q{seed}.png"
        path.write_bytes(image_bytes(seed))
        quick.append(path)
    sources: list[object] = [slow, WorkerKiller(), *quick]
    records = list(hash_many(sources, workers=2))  # type: ignore[arg-type]
    assert records[1].error is not None and "crash" in records[1].error
    assert records[0] == hash_source(slow)
    assert records[2:] == [hash_source(path) for path in quick]


def test_a_pool_that_cannot_start_a_worker_is_handled_like_a_crash(mixed_files: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """CPython 3.11 can fail a submit with EBADF while a crashed pool is torn down (seen in CI):
    the batch is retried in a fresh pool and no file is lost or blamed."""
    from concurrent.futures import ProcessPoolExecutor

    real_submit = ProcessPoolExecutor.submit
    calls = {"n": 0}

    def submit_failing_once(self: ProcessPoolExecutor, *args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(9, "Bad file descriptor")
        return real_submit(self, *args, **kwargs)

    monkeypatch.setattr(ProcessPoolExecutor, "submit", submit_failing_once)
    records = list(hash_many(mixed_files, workers=2))
    assert calls["n"] > 1
    assert records == [hash_source(path) for path in mixed_files]
