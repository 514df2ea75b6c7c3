"""PDQ: Meta's 256-bit perceptual image hash, equal bit for bit to the reference.

Pipeline (as in the reference): float32 luma → two Jarosz box-filter passes each way →
decimate to 64x64 → quality from image-domain gradients → 16x16 DCT block → one bit per
coefficient, set when it exceeds the median. The 8 dihedral variants (rotations, flips) are
derived from the one DCT block by sign changes and transposition, so hashing a file once
also finds its rotated and mirrored copies.

String form: 64 hex digits, the reference's 16 sixteen-bit words from word 15 down to word 0,
where bit k is word k//16, bit k%16. `bytes.fromhex(hex)` is the 32-byte form the Hamming
index stores.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from mediamatch.signals.base import ComputesFrom, IndexKind, MediaKind, SignalType
from mediamatch.signals.pdq_kernel import dct_and_quality

MATCH_THRESHOLD = 31
MIN_QUALITY = 50
THRESHOLD_SOURCE = "ThreatExchange PDQ reference README (hashing/pdq): match at distance <= 31; ignore quality < 50"
MIN_HASHABLE_DIM = 5
DIHEDRAL_NAMES = ("original", "rot90", "rot180", "rot270", "flipx", "flipy", "flipplus1", "flipminus1")
DIHEDRAL_LABELS = {  # what each reference name means to a person looking at the picture
    "original": "as is",
    "rot90": "rotated 90°",
    "rot180": "rotated 180°",
    "rot270": "rotated 270°",
    "flipx": "flipped upside down",
    "flipy": "mirrored left-right",
    "flipplus1": "flipped about the main diagonal",
    "flipminus1": "flipped about the anti-diagonal",
}

_PARITY_I = (np.arange(16)[:, None] % 2).astype(bool) & np.ones((1, 16), bool)  # row index odd
_PARITY_J = _PARITY_I.T.copy()  # column index odd
_PARITY_SUM = _PARITY_I ^ _PARITY_J


def luma_from_rgb(rgb: np.ndarray) -> np.ndarray:
    """Float32 luminance (0.299 R + 0.587 G + 0.114 B) of an (h, w, 3) uint8 RGB array.

    Computed in float64 and rounded once, as the `pdqhash` binding (and so python-threatexchange,
    HMA and perception) does, so a file decoded the same way gets the same hash as theirs.
    """
    return (rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114).astype(np.float32)


def _bits_to_bytes(dct: np.ndarray) -> np.ndarray:
    median = np.partition(dct.ravel(), 127)[127]  # the reference's Torben median: the 128th smallest
    bits = (dct > median)[::-1]  # word 15 first
    high = np.packbits(bits[:, 8:], axis=1, bitorder="little")
    low = np.packbits(bits[:, :8], axis=1, bitorder="little")
    return np.concatenate([high, low], axis=1).ravel()


def pdq_from_luma(luma: np.ndarray) -> tuple[np.ndarray, int]:
    """The PDQ hash (32 uint8, canonical byte order) and quality of a float luma plane."""
    if min(luma.shape) < MIN_HASHABLE_DIM:
        return np.zeros(32, np.uint8), 0
    dct, quality = dct_and_quality(luma)
    return _bits_to_bytes(dct), quality


def dihedral_blocks(dct: np.ndarray) -> list[np.ndarray]:
    """DCT blocks of the 8 rotations/flips, in DIHEDRAL_NAMES order, from the original's block."""
    return [
        dct,
        np.where(_PARITY_J, dct, -dct).T,  # rot90
        np.where(_PARITY_SUM, -dct, dct),  # rot180
        np.where(_PARITY_I, dct, -dct).T,  # rot270
        np.where(_PARITY_I, dct, -dct),  # flipx
        np.where(_PARITY_J, dct, -dct),  # flipy
        dct.T.copy(),  # flip about the main diagonal
        np.where(_PARITY_SUM, -dct, dct).T,  # flip about the anti-diagonal
    ]


def pdq_dihedral_from_luma(luma: np.ndarray) -> tuple[list[np.ndarray], int]:
    """Hashes of the 8 dihedral variants (DIHEDRAL_NAMES order) and the shared quality."""
    if min(luma.shape) < MIN_HASHABLE_DIM:
        return [np.zeros(32, np.uint8) for _ in DIHEDRAL_NAMES], 0
    dct, quality = dct_and_quality(luma)
    return [_bits_to_bytes(block) for block in dihedral_blocks(dct)], quality


def pdq_to_hex(hash_bytes: np.ndarray | bytes) -> str:
    return bytes(hash_bytes).hex()


def pdq_from_hex(value: str) -> np.ndarray:
    return np.frombuffer(bytes.fromhex(PDQSignal.validate(value)), dtype=np.uint8).copy()


class PDQSignal(SignalType):
    """256-bit perceptual hash: robust to re-encoding, resizing and small edits."""

    name: ClassVar[str] = "pdq"
    index_kind: ClassVar[IndexKind] = "hamming"
    bits: ClassVar[int] = 256
    default_threshold: ClassVar[int] = MATCH_THRESHOLD
    threshold_source: ClassVar[str] = THRESHOLD_SOURCE
    min_quality: ClassVar[int] = MIN_QUALITY
    media_kinds: ClassVar[frozenset[MediaKind]] = frozenset({"image"})
    computes_from: ClassVar[ComputesFrom | None] = "luma"
    variant_names: ClassVar[tuple[str, ...]] = DIHEDRAL_NAMES
    outside_names: ClassVar[Mapping[str, tuple[str, ...]]] = {"threatexchange": ("pdq",)}  # python-threatexchange `PdqSignal`

    @classmethod
    def compute_luma(cls, luma: np.ndarray) -> tuple[str, int | None]:
        value, quality = pdq_from_luma(luma)
        return pdq_to_hex(value), quality

    @classmethod
    def compute_variants(cls, luma: np.ndarray) -> tuple[tuple[str, ...], int | None]:
        variants, quality = pdq_dihedral_from_luma(luma)
        return tuple(pdq_to_hex(variant) for variant in variants), quality

    @classmethod
    def examples(cls) -> list[str]:
        # Reference hashes of two unrelated ThreatExchange test images: bridge-1-original.jpg
        # (java reg_test out.bak) and misc-images/c.png (wasm PDQMD5TestData.csv).
        return [
            "f8f8f0cce0f4e84d0e370a22028f67f0b36e2ed596623e1d33e6339c4e9c9b22",
            "e4cc89d91c623842f8d1f1d9a398e78c9f199a3bf87925f2b7e11e0bf061b064",
        ]
