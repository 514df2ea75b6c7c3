"""Tells what a file really is from its first bytes, never from its name.

A seized drive holds renamed files (a video saved as `.jpg`, an image without an extension);
the magic numbers decide which decoder may touch the bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

SNIFF_BYTES = 512

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"}


@dataclass(frozen=True, slots=True)
class Sniffed:
    media_type: str  # a MIME type
    kind: str  # "image", "video" or "other"


def sniff(head: bytes) -> Sniffed:
    """The MIME type and kind of a file from (at least) its first SNIFF_BYTES bytes."""
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image/jpeg", "image")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image/png", "image")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed("image/gif", "image")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image/webp", "image")
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return Sniffed("video/x-msvideo", "video")
    if head[:2] == b"BM" and len(head) >= 26:
        return Sniffed("image/bmp", "image")
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return Sniffed("image/tiff", "image")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return Sniffed("image/avif" if brand in (b"avif", b"avis") else "image/heic", "image")
        return Sniffed("video/quicktime" if brand == b"qt  " else "video/mp4", "video")
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: Matroska, or WebM (its DocType says which)
        return Sniffed("video/webm" if b"\x42\x82\x84webm" in head[:64] else "video/x-matroska", "video")
    if head[4:8] in (b"moov", b"mdat", b"wide"):  # QuickTime files older than the ftyp box
        return Sniffed("video/quicktime", "video")
    if head[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3") or (head[:1] == b"G" and len(head) > 188 and head[188:189] == b"G"):
        return Sniffed("video/mpeg", "video")
    if head[:4] == b"FLV\x01":
        return Sniffed("video/x-flv", "video")
    if head[:4] == b"PK\x03\x04":
        return Sniffed("application/zip", "other")
    if head[:5] == b"%PDF-":
        return Sniffed("application/pdf", "other")
    return Sniffed("application/octet-stream", "other")
