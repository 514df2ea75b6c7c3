"""The signal conformance kit: what every `SignalType` must do for the rest of mediamatch to
use it without knowing its name.

Each check takes the signal class and raises AssertionError saying what is wrong. They cover
the declaration (a storage-safe name, a width that packs into hash lists, known media and index
kinds, a threshold with its source), the string form (examples valid and canonical, round trip,
bad values refused with the signal's name), the comparison (self-match, symmetric distance
within 0..bits, `matches == distance <= threshold` at several thresholds) and, where the signal
computes from media, computing on generated sample media (deterministic, valid, streamed bytes
equal to one read, variants led by the picture as it is). Sample media are generated here, so
the kit needs no test files.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import product
from typing import get_args

import numpy as np

from mediamatch.signals.base import ComputesFrom, IndexKind, MediaKind, SignalType

_NAME = re.compile(r"[a-z0-9_]{1,32}")  # a hash list's and the catalogue's rule for signal names


def sample_bytes() -> list[bytes]:
    """Small, distinct byte strings, the empty one included."""
    return [b"", b"mediamatch", bytes(range(256)) * 64, np.random.default_rng(7).bytes(300_000)]


def sample_luma() -> list[np.ndarray]:
    """Float32 luma planes (0-255) of generated pictures: smooth, textured, and small."""
    rng = np.random.default_rng(11)
    y, x = np.mgrid[0:480, 0:640].astype(np.float32)
    smooth = 127.5 + 100 * np.sin(x / 37) * np.cos(y / 23)
    textured = np.clip(smooth + rng.normal(0, 25, smooth.shape), 0, 255)
    blocks = np.kron(rng.integers(0, 256, (12, 16)), np.ones((40, 40))).astype(np.float32)
    return [smooth.astype(np.float32), textured.astype(np.float32), blocks, rng.uniform(0, 255, (70, 90)).astype(np.float32)]


def check_declaration(signal: type[SignalType]) -> None:
    assert isinstance(signal.name, str) and _NAME.fullmatch(signal.name), f"name {signal.name!r}: 1-32 of a-z, 0-9, _"
    assert signal.index_kind in get_args(IndexKind), f"{signal.name}: index_kind {signal.index_kind!r}"
    assert isinstance(signal.bits, int) and signal.bits > 0 and signal.bits % 8 == 0, f"{signal.name}: bits {signal.bits!r} is not whole bytes"
    assert signal.media_kinds and set(signal.media_kinds) <= set(get_args(MediaKind)), f"{signal.name}: media_kinds {signal.media_kinds!r}"
    assert signal.computes_from is None or signal.computes_from in get_args(ComputesFrom), f"{signal.name}: computes_from {signal.computes_from!r}"
    assert 0 <= signal.default_threshold <= signal.bits, f"{signal.name}: threshold {signal.default_threshold} outside 0..{signal.bits}"
    assert signal.index_kind == "hamming" or signal.default_threshold == 0, f"{signal.name}: an exact signal matches at distance 0 only"
    assert isinstance(signal.threshold_source, str) and signal.threshold_source.strip(), f"{signal.name}: the threshold needs its source"
    assert 0 <= signal.min_quality <= 100, f"{signal.name}: min_quality {signal.min_quality}"


def check_examples_are_valid_and_canonical(signal: type[SignalType]) -> None:
    examples = signal.examples()
    assert len(examples) >= 2 and len(set(examples)) == len(examples), f"{signal.name}: give at least two distinct examples"
    for example in examples:
        assert signal.validate(example) == example, f"{signal.name}: example {example!r} is not in canonical form"


def check_string_form_round_trips(signal: type[SignalType]) -> None:
    for example in signal.examples():
        for spelling in (example, example.upper(), f"  {example}\n"):
            canonical = signal.validate(spelling)
            assert canonical == example and signal.validate(canonical) == canonical, f"{signal.name}: {spelling!r} -> {canonical!r}"


def check_invalid_values_are_refused(signal: type[SignalType]) -> None:
    example = signal.examples()[0]
    for bad in ("", "zz" * (signal.bits // 8), example[:-1], example + "0"):
        try:
            signal.validate(bad)
        except ValueError as exc:
            assert signal.name in str(exc), f"{signal.name}: the error for {bad!r} should name the signal: {exc}"
        else:
            raise AssertionError(f"{signal.name}: accepted {bad!r}")


def check_self_match(signal: type[SignalType]) -> None:
    for example in signal.examples():
        assert signal.distance(example, example) == 0 and signal.matches(example, example), f"{signal.name}: {example!r} does not match itself"


def check_matches_is_distance_within_threshold(signal: type[SignalType]) -> None:
    examples = signal.examples()
    thresholds = sorted({0, signal.default_threshold, signal.bits // 2, signal.bits})
    for a, b in product(examples, repeat=2):
        distance = signal.distance(a, b)
        assert 0 <= distance <= signal.bits and distance == signal.distance(b, a), f"{signal.name}: distance({a!r}, {b!r}) = {distance}"
        assert signal.matches(a, b) == (distance <= signal.default_threshold), f"{signal.name}: matches({a!r}, {b!r}) disagrees with distance"
        for threshold in thresholds:
            assert signal.matches(a, b, threshold) == (distance <= threshold), f"{signal.name}: matches at {threshold} disagrees with distance {distance}"


def check_compute_on_sample_media(signal: type[SignalType]) -> None:
    """Only for signals the hashing pipeline computes (computes_from is not None)."""
    if signal.computes_from == "bytes":
        for data in sample_bytes():
            whole = signal.new_digest()
            whole.update(data)
            streamed = signal.new_digest()
            for start in range(0, len(data), 65_536):
                streamed.update(data[start : start + 65_536])
            value = whole.hexdigest()
            assert signal.validate(value) == value, f"{signal.name}: computed {value!r} is not canonical"
            assert streamed.hexdigest() == value, f"{signal.name}: streaming the bytes gives another value"
    elif signal.computes_from in ("luma", "frame"):
        for luma in sample_luma():
            value, quality = signal.compute_luma(luma)
            assert signal.validate(value) == value, f"{signal.name}: computed {value!r} is not canonical"
            assert signal.compute_luma(luma.copy()) == (value, quality), f"{signal.name}: computing twice differs"
            assert quality is None or 0 <= quality <= 100, f"{signal.name}: quality {quality}"
            variants, variant_quality = signal.compute_variants(luma)
            assert variants[0] == value and variant_quality == quality, f"{signal.name}: the first variant must be the picture as it is"
            assert len(variants) == max(1, len(signal.variant_names)), f"{signal.name}: {len(variants)} variants for {signal.variant_names}"


CHECKS: tuple[Callable[[type[SignalType]], None], ...] = (
    check_declaration,
    check_examples_are_valid_and_canonical,
    check_string_form_round_trips,
    check_invalid_values_are_refused,
    check_self_match,
    check_matches_is_distance_within_threshold,
    check_compute_on_sample_media,
)


def check_signal(signal: type[SignalType]) -> None:
    """Run every check; raise one AssertionError listing each that failed."""
    failures = []
    for check in CHECKS:
        try:
            check(signal)
        except Exception as exc:  # noqa: BLE001 — a check that crashes is a failure to report
            failures.append(f"{check.__name__}: {type(exc).__name__}: {exc}")
    if failures:
        raise AssertionError(f"{signal.__name__} fails the conformance kit:\n" + "\n".join(failures))
