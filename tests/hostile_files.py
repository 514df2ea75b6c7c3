"""Small hostile files shared by the decoding and triage tests: headers that lie about the
picture's size, and the bit-flipped TIFF of the 2026-11 review. Generated, never real material."""

from __future__ import annotations

import io
import struct
import zlib

from mediamatch.services.samples import generated_picture


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_header_only(width: int, height: int, bit_depth: int = 8, colour_type: int = 0) -> bytes:
    """A tiny PNG whose header claims width x height pixels (greyscale unless `colour_type` says)
    and whose pixel data is a token: enough for a lazy open, refused before decoding."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + png_chunk(b"IEND", b"")


def tiff_missing_dimensions() -> bytes:
    """A two-page TIFF with one bit flipped: the second page's ImageWidth tag (256) becomes tag 0.
    Pillow then raises TypeError("Missing dimensions") while counting the pages, which once
    ended a whole folder triage without a report."""
    buffer = io.BytesIO()
    picture = generated_picture(1, (64, 48))
    picture.save(buffer, "TIFF", save_all=True, append_images=[picture.rotate(90)])
    data = bytearray(buffer.getvalue())
    first = int.from_bytes(data[4:8], "little")
    entries = int.from_bytes(data[first : first + 2], "little")
    second = int.from_bytes(data[first + 2 + 12 * entries : first + 6 + 12 * entries], "little")
    for entry in range(int.from_bytes(data[second : second + 2], "little")):
        start = second + 2 + 12 * entry
        if int.from_bytes(data[start : start + 2], "little") == 256:
            data[start + 1] ^= 0x01
    return bytes(data)
