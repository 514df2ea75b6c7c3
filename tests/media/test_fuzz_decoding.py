"""Fuzzing the decoders: no mutated picture or video may end a run with an exception.

Small benign files of every format triage decodes (PNG, JPEG, GIF, WebP, TIFF, BMP, HEIF, AVIF,
MP4, Matroska) are generated, then mutated the way damaged or hostile files are: bits flipped,
bytes overwritten, the end cut off, a run of bytes dropped or repeated, and header fields
(sizes, bit depths, offsets, box lengths) set to edge values. `hash_bytes` must return a record
for every input (an error row at worst), never raise. A decoder that crashes the process
instead is the process pool's business (`hash_many` retries the batch file by file and reports
the culprit), tested in tests/media/test_hashing.py. The review's bit-flipped TIFF is replayed at
triage level in tests/services/test_triage_hostile.py.

The default run tries FUZZ_EXAMPLES inputs (a few hundred, under 30 s);
`MEDIAMATCH_FUZZ_EXAMPLES=10000` runs the long campaign and records its figures in
BENCHMARKS.md (section `hostile-fuzz`).
"""

from __future__ import annotations

import io
import os
import re
import time
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mediamatch.media.hashing import hash_bytes
from mediamatch.services.samples import generated_picture

FUZZ_EXAMPLES = int(os.environ.get("MEDIAMATCH_FUZZ_EXAMPLES", "300"))
EDGE_VALUES = (0, 1, 2, 3, 7, 8, 16, 0x7F, 0x80, 0xFF, 0x100, 0x3FFF, 0x4000, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
BOX_TYPES = (
    b"ftyp",
    b"meta",
    b"hdlr",
    b"iinf",
    b"iloc",
    b"iprp",
    b"ipco",
    b"ispe",
    b"pixi",
    b"hvcC",
    b"av1C",
    b"moov",
    b"mvhd",
    b"trak",
    b"tkhd",
    b"mdia",
    b"mdhd",
    b"stsd",
    b"stts",
    b"stsc",
    b"stsz",
    b"stco",
    b"avcC",
    b"mdat",
)
MATROSKA_IDS = (b"\x1a\x45\xdf\xa3", b"\x18\x53\x80\x67", b"\x16\x54\xae\x6b", b"\xae", b"\xb0", b"\xba", b"\x1f\x43\xb6\x75", b"\xa3", b"\x2a\xd7\xb1")
JPEG_MARKERS = (b"\xff\xc0", b"\xff\xc2", b"\xff\xc4", b"\xff\xdb", b"\xff\xda", b"\xff\xe1", b"\xff\xdd")
RESULTS: Counter[str] = Counter()


def _picture(mode: str = "RGB", size: tuple[int, int] = (64, 48)) -> Image.Image:
    return generated_picture(11, size).convert(mode)


def _encoded(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _video(suffix: str, tmp: Path) -> bytes:
    pytest.importorskip("av")
    from mediamatch.services.samples import generated_video

    return generated_video(tmp / f"seed{suffix}", seconds=1.0, fps=8, size=(64, 48), seed=3).read_bytes()


@cache
def seeds() -> dict[str, bytes]:
    """One small benign file per format and variant decoding takes a different path through."""
    import tempfile

    files = {
        "rgb.png": _encoded(_picture(), "PNG"),
        "palette.png": _encoded(_picture("P"), "PNG"),
        "i16.png": _encoded(_picture("I;16"), "PNG"),
        "rgba.png": _encoded(_picture("RGBA"), "PNG"),
        "baseline.jpg": _encoded(_picture(), "JPEG", quality=80),
        "progressive.jpg": _encoded(_picture(), "JPEG", progressive=True),
        "exif.jpg": _encoded(_picture(), "JPEG", exif=_exif_rotated()),
        "cmyk.jpg": _encoded(_picture("CMYK"), "JPEG"),
        "still.gif": _encoded(_picture("P"), "GIF"),
        "animated.gif": _encoded(_picture("P"), "GIF", save_all=True, append_images=[_picture("P", (64, 48)).rotate(90)]),
        "lossy.webp": _encoded(_picture(), "WEBP", quality=60),
        "lossless.webp": _encoded(_picture("RGBA"), "WEBP", lossless=True),
        "deflate.tif": _encoded(_picture(), "TIFF", compression="tiff_deflate"),
        "raw.tif": _encoded(_picture("L"), "TIFF"),
        "pages.tif": _encoded(_picture(), "TIFF", save_all=True, append_images=[_picture().rotate(90)]),
        "lzw.tif": _encoded(_picture(), "TIFF", compression="tiff_lzw"),
        "rgb.bmp": _encoded(_picture(), "BMP"),
        "palette.bmp": _encoded(_picture("P"), "BMP"),
    }
    try:
        import pillow_heif  # noqa: F401  (registers HEIF/AVIF with Pillow in media/image.py)

        files["photo.heic"] = _encoded(_picture(), "HEIF")
        files["photo.avif"] = _encoded(_picture(), "AVIF")
    except (ImportError, KeyError, OSError):
        pass
    try:
        with tempfile.TemporaryDirectory() as tmp:
            files["clip.mp4"] = _video(".mp4", Path(tmp))
            files["clip.mkv"] = _video(".mkv", Path(tmp))
    except pytest.skip.Exception:
        pass
    return files


def _exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6
    return exif.tobytes()


def field_offsets(data: bytes) -> list[int]:
    """Where the size, depth, offset and length fields of `data`'s format lie."""
    offsets: set[int] = set()
    if data.startswith(b"\x89PNG"):
        offsets |= {8, 16, 20, 24, 25, 26, 27, 28}
        offsets |= {m.start() - 4 for m in re.finditer(rb"IDAT|PLTE|tRNS|acTL|fcTL|eXIf", data)}
    elif data.startswith(b"\xff\xd8"):
        for marker in JPEG_MARKERS:
            offsets |= {m.start() + delta for m in re.finditer(re.escape(marker), data) for delta in (2, 4, 5, 7, 9, 10, 11)}
    elif data[:3] == b"GIF":
        offsets |= {6, 8, 10, 11, 12}
        offsets |= {m.start() + delta for m in re.finditer(rb"\x2c\x00\x00\x00\x00", data) for delta in (5, 7, 9, 10)}
    elif data[8:12] == b"WEBP":
        offsets |= {4, 12, 16, 20, 21, 22, 23, 24, 26, 28}
    elif data[:4] in (b"II*\x00", b"MM\x00*"):
        order = "little" if data[:2] == b"II" else "big"
        ifd = int.from_bytes(data[4:8], order)
        offsets.add(4)
        if ifd + 2 <= len(data):
            for entry in range(int.from_bytes(data[ifd : ifd + 2], order)):
                start = ifd + 2 + 12 * entry
                offsets |= {start + 2, start + 4, start + 8}
    elif data[:2] == b"BM":
        offsets |= {2, 10, 14, 18, 22, 26, 28, 30, 34, 46}
    elif data[4:8] == b"ftyp":
        for box in BOX_TYPES:
            offsets |= {m.start() + delta for m in re.finditer(re.escape(box), data) for delta in (-4, 4, 8, 12, 16, 20, 24)}
    elif data.startswith(b"\x1a\x45\xdf\xa3"):
        for element in MATROSKA_IDS:
            offsets |= {m.start() + len(element) + delta for m in re.finditer(re.escape(element), data[:4096]) for delta in (0, 1, 2)}
    return sorted(offset for offset in offsets if 0 <= offset < len(data))


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    """(the seed's name and what was done to it, the mutated bytes)."""
    name = draw(st.sampled_from(sorted(seeds())))
    data = bytearray(seeds()[name])
    done = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "byte", "truncate", "drop", "repeat", "field"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "byte" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del data[at:]
        elif kind == "drop":
            del data[at : at + draw(st.integers(1, 64))]
        elif kind == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 64))] * draw(st.integers(1, 8))
        elif kind == "field":
            offsets = field_offsets(bytes(data)) or [at]
            at = draw(st.sampled_from(offsets))
            width = draw(st.sampled_from([1, 2, 4]))
            value = draw(st.sampled_from(EDGE_VALUES)) % (1 << (8 * width))
            data[at : at + width] = value.to_bytes(width, draw(st.sampled_from(["big", "little"])))
        done.append(f"{kind}@{at}")
    return f"{name} {' '.join(done)}", bytes(data)


def test_every_seed_decodes_before_mutation() -> None:
    for name, data in seeds().items():
        record = hash_bytes(data, name)
        assert record.error is None, (name, record.error)
        assert record.value("pdq") is not None or record.frames, name


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about every corrupt EXIF block
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,  # the same inputs on every run: a failure here is reproducible
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated())
def test_mutated_files_never_raise(case: tuple[str, bytes]) -> None:
    description, data = case
    try:
        record = hash_bytes(data, description)
    except Exception as exc:
        RESULTS["crash"] += 1
        raise AssertionError(f"{description}: {type(exc).__name__}: {exc}") from exc
    assert record.value("sha256") is not None
    if record.error:
        RESULTS["error row"] += 1
        RESULTS[_error_kind(record.error)] += 1
    else:
        RESULTS["hashed" if (record.value("pdq") or record.frames) else "not media"] += 1


def _error_kind(error: str) -> str:
    """The error's kind without the details: "error: corrupt or truncated image", or the type of
    a decoder exception that only the catch-all turns into a record."""
    if caught := re.search(r"the decoder failed: (\w+)", error):
        return f"error: decoder raised {caught[1]} (caught)"
    if error.startswith("refused"):
        return "refused: " + ("memory budget" if "to decode" in error else "pixel or size limit")
    return "error: " + re.split(r"[:(]", error, maxsplit=1)[0].strip()


@pytest.fixture(scope="module", autouse=True)
def record_campaign():
    """With MEDIAMATCH_FUZZ_EXAMPLES of 10,000 or more, write the campaign's figures to BENCHMARKS.md."""
    started = time.perf_counter()
    yield
    if FUZZ_EXAMPLES < 10_000 or not RESULTS:
        return
    from benchmarks.report import write_section

    inputs = sum(RESULTS[kind] for kind in ("error row", "hashed", "not media", "crash"))
    lines = [
        f"{inputs:,} mutated inputs from {len(seeds())} seed files ({', '.join(sorted(seeds()))}), "
        f"{time.perf_counter() - started:.0f} s, **{RESULTS['crash']} crashes** (exceptions out of `hash_bytes`).",
        "",
        "| outcome | inputs |",
        "|---|---:|",
        *(f"| {kind} | {count:,} |" for kind, count in RESULTS.most_common() if kind != "error row"),
    ]
    write_section(
        "hostile-fuzz",
        f"MEDIAMATCH_FUZZ_EXAMPLES={FUZZ_EXAMPLES} pytest tests/media/test_fuzz_decoding.py",
        "\n".join(lines),
    )
