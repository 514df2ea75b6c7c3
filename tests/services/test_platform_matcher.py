"""The platform matcher on real signed files: exact and near lookups (31 found, 32 not), only
indicator, signal and distance revealed, deltas applied beside the live state, and lookups
from other threads answered throughout an update."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import numpy as np
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mediamatch.hashlist.delta import write_delta
from mediamatch.hashlist.format import HashListError, Section, read_hashlist, write_hashlist
from mediamatch.index.cache import wait_for_saves
from mediamatch.services import platform_matcher
from mediamatch.services.platform_matcher import HashListMatcher, IndicatorHit

WIDTHS = {"md5": 16, "sha1": 20, "sha256": 32, "pdq": 32}


def flipped(value: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    mask = np.zeros(256, bool)
    mask[rng.choice(256, bits, replace=False)] = True
    return value ^ np.packbits(mask)


def random_entries(rng: np.random.Generator, ids: range) -> dict[str, np.ndarray]:
    return {signal: rng.integers(0, 256, (len(ids), width), dtype=np.uint8) for signal, width in WIDTHS.items()}


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def write(path: Path, key, entries: dict[str, tuple[np.ndarray, np.ndarray]], version: int):
    sections = {("entries", s): Section.of(ids, hashes, WIDTHS[s]) for s, (ids, hashes) in entries.items()}
    return write_hashlist(path, sections, key, name="l", version=version, previous_version=version - 1 if version > 1 else None)


@pytest.fixture
def lists(tmp_path: Path, key):
    """v1: 2,000 indicators per signal (ids 1..2000 pdq, 10001.. others); v2: 300 pdq removed,
    500 pdq and 10 md5 added; and the delta between them."""
    rng = np.random.default_rng(7)
    pdq_ids = np.arange(1, 2001, dtype=np.uint64)
    pdq = rng.integers(0, 256, (2000, 32), dtype=np.uint8)
    others = {
        s: (np.arange(10_001, 12_001, dtype=np.uint64) + 10_000 * n, rng.integers(0, 256, (2000, WIDTHS[s]), dtype=np.uint8))
        for n, s in enumerate(("md5", "sha1", "sha256"))
    }
    v1 = {"pdq": (pdq_ids, pdq), **others}
    keep = np.ones(2000, bool)
    keep[rng.choice(2000, 300, replace=False)] = False
    new_pdq = rng.integers(0, 256, (500, 32), dtype=np.uint8)
    md5_ids, md5 = others["md5"]
    v2 = {
        "pdq": (np.concatenate([pdq_ids[keep], np.arange(5001, 5501, dtype=np.uint64)]), np.concatenate([pdq[keep], new_pdq])),
        "md5": (np.concatenate([md5_ids, np.arange(90_001, 90_011, dtype=np.uint64)]), np.concatenate([md5, rng.integers(0, 256, (10, 16), dtype=np.uint8)])),
        "sha1": others["sha1"],
        "sha256": others["sha256"],
    }
    write(tmp_path / "v1", key, v1, 1)
    target = write(tmp_path / "v2", key, v2, 2)
    old, new = read_hashlist(tmp_path / "v1", key.public_key()), read_hashlist(tmp_path / "v2", key.public_key())
    write_delta(tmp_path / "v2.delta", old, new, target, key)
    return {"v1": v1, "v2": v2, "removed": pdq_ids[~keep], "dir": tmp_path}


def test_exact_digests_and_pdq_within_31_not_32(lists, key) -> None:
    matcher = HashListMatcher.from_hashlist(lists["dir"] / "v1", key.public_key())
    assert (matcher.name, matcher.version, matcher.ready) == ("l", 1, True)
    assert matcher.counts() == {"md5": 2000, "pdq": 2000, "sha1": 2000, "sha256": 2000}
    rng = np.random.default_rng(8)
    for signal in ("md5", "sha1", "sha256"):
        ids, hashes = lists["v1"][signal]
        assert matcher.lookup(signal, hashes[17].tobytes().hex().upper()) == [IndicatorHit(int(ids[17]), signal, 0)]
        assert matcher.lookup(signal, (hashes[17] ^ 1).tobytes().hex()) == []
    ids, pdq = lists["v1"]["pdq"]
    queries = []
    for bits in (0, 1, 16, 30, 31, 32, 40):
        queries.append(("pdq", flipped(pdq[100], bits, rng).tobytes().hex()))
    found = matcher.lookup_many(queries)
    for bits, hits in zip((0, 1, 16, 30, 31, 32, 40), found):
        expected = [IndicatorHit(int(ids[100]), "pdq", bits)] if bits <= 31 else []
        assert [h for h in hits if h.indicator == int(ids[100])] == expected, bits
    assert [f.name for f in dataclasses.fields(IndicatorHit)] == ["indicator", "signal", "distance"]  # nothing else to leak


def test_batches_mix_signals_and_bad_values_are_refused(lists, key) -> None:
    pem = lists["dir"] / "signing.key.pub"
    pem.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    matcher = HashListMatcher.from_hashlist(lists["dir"] / "v1", pem)  # the key as a platform receives it: a PEM file
    md5_ids, md5 = lists["v1"]["md5"]
    pdq_ids, pdq = lists["v1"]["pdq"]
    answers = matcher.lookup_many([("md5", md5[3].tobytes().hex()), ("pdq", pdq[3].tobytes().hex()), ("vpdq", "00" * 32)])
    assert answers[0] == [IndicatorHit(int(md5_ids[3]), "md5", 0)]
    assert answers[1][0] == IndicatorHit(int(pdq_ids[3]), "pdq", 0)
    assert answers[2] == []  # a signal the list does not hold
    for bad in ("xyz", "", "ab cd", "00" * 31):
        with pytest.raises(ValueError, match=r"hex digits|bytes"):
            matcher.lookup("pdq", bad)


def test_applying_the_delta_answers_as_the_full_next_version(lists, key, monkeypatch) -> None:
    for compact_min in (65_536, 100):  # overlay kept, and overlay folded into a rebuilt base
        monkeypatch.setattr(platform_matcher, "COMPACT_MIN", compact_min)
        matcher = HashListMatcher.from_hashlist(lists["dir"] / "v1", key.public_key())
        assert matcher.apply_delta(lists["dir"] / "v2.delta") == 2
        full = HashListMatcher.from_hashlist(lists["dir"] / "v2", key.public_key())
        assert matcher.version == 2 and matcher.counts() == full.counts() == {"md5": 2010, "pdq": 2200, "sha1": 2000, "sha256": 2000}
        queries = [(s, h.tobytes().hex()) for s in ("pdq", "md5") for h in np.concatenate([lists["v1"][s][1], lists["v2"][s][1]])]
        assert matcher.lookup_many(queries) == full.lookup_many(queries)
        removed = set(lists["removed"].tolist())
        assert not any(hit.indicator in removed for hits in matcher.lookup_many(queries) for hit in hits)


def test_a_delta_that_does_not_fit_is_refused_and_the_old_version_keeps_answering(lists, key) -> None:
    matcher = HashListMatcher.from_hashlist(lists["dir"] / "v2", key.public_key())
    with pytest.raises(HashListError, match="turns version 1 into 2; the list given is version 2"):
        matcher.apply_delta(lists["dir"] / "v2.delta")
    with pytest.raises(HashListError, match="signed with key"):
        HashListMatcher.from_hashlist(lists["dir"] / "v1", Ed25519PrivateKey.generate().public_key())
    with pytest.raises(HashListError, match="is a delta"):
        HashListMatcher.from_hashlist(lists["dir"] / "v2.delta", key.public_key())
    assert matcher.version == 2 and matcher.updating_to is None
    assert matcher.lookup("md5", lists["v2"]["md5"][1][0].tobytes().hex())


def test_lookups_during_an_update_get_the_old_or_the_new_answer(lists, key) -> None:
    matcher = HashListMatcher.from_hashlist(lists["dir"] / "v1", key.public_key())
    removed_row = int(np.flatnonzero(np.isin(lists["v1"]["pdq"][0], lists["removed"]))[0])
    queries = [("pdq", lists["v1"]["pdq"][1][removed_row].tobytes().hex()), ("pdq", lists["v2"]["pdq"][1][-1].tobytes().hex())]
    old_answer = matcher.lookup_many(queries)
    answers: list[tuple[bool, object]] = []  # (asked after the update was applied, answer)
    errors, stop, updated = [], threading.Event(), threading.Event()

    def keep_asking() -> None:
        while not stop.is_set():
            try:
                after = updated.is_set()
                answers.append((after, matcher.lookup_many(queries)))
            except Exception as exc:  # noqa: BLE001 - any failure is the finding
                errors.append(exc)

    threads = [threading.Thread(target=keep_asking) for _ in range(2)]
    for thread in threads:
        thread.start()
    while len(answers) < 5:
        pass
    matcher.apply_delta(lists["dir"] / "v2.delta")
    updated.set()
    while sum(after for after, _ in answers) < 5:
        pass
    stop.set()
    for thread in threads:
        thread.join()
    new_answer = matcher.lookup_many(queries)
    assert not errors
    assert old_answer != new_answer and old_answer[0] and not new_answer[0] and new_answer[1]
    assert all(answer in (old_answer, new_answer) for _, answer in answers)
    # a lookup begun once the update was applied never sees the old list
    assert all(answer == new_answer for after, answer in answers if after)


def tables_saved() -> None:
    """Wait for the tables a load saves in the background."""
    wait_for_saves()


def test_a_restart_maps_the_saved_tables_and_a_stale_or_damaged_cache_is_rebuilt(lists, key, monkeypatch) -> None:
    v1, v2 = lists["dir"] / "v1", lists["dir"] / "v2"
    queries = [("pdq", h.tobytes().hex()) for h in lists["v1"]["pdq"][1][:50]]
    first = HashListMatcher.from_hashlist(v1, key.public_key())
    tables_saved()
    cache = lists["dir"] / "v1.pdq-index"
    assert cache.exists() and (lists["dir"] / "v1.pdq-index.json").exists()
    expected = first.lookup_many(queries)

    def no_build(*_: object) -> None:
        raise AssertionError("the PDQ tables were rebuilt")

    with monkeypatch.context() as patched:
        patched.setattr(platform_matcher.PDQIndex, "from_arrays", no_build)
        assert HashListMatcher.from_hashlist(v1, key.public_key()).lookup_many(queries) == expected

    HashListMatcher.from_hashlist(v2, key.public_key())
    tables_saved()
    (lists["dir"] / "v2.pdq-index").replace(cache)  # another list's tables under this list's name
    assert HashListMatcher.from_hashlist(v1, key.public_key()).lookup_many(queries) == expected
    cache.write_bytes(cache.read_bytes()[:1000])  # damaged
    assert HashListMatcher.from_hashlist(v1, key.public_key()).lookup_many(queries) == expected
    assert HashListMatcher.from_hashlist(v1, key.public_key(), cache=False).lookup_many(queries) == expected


def test_video_frame_hashes_are_matched_frame_by_frame(tmp_path: Path, key) -> None:
    rng = np.random.default_rng(9)
    frames = rng.integers(0, 256, (20, 32), dtype=np.uint8)
    write_hashlist(tmp_path / "video", {("entries", "vpdq"): Section.of(np.arange(500, 520), frames, 32)}, key, name="video", version=1)
    matcher = HashListMatcher.from_hashlist(tmp_path / "video", key.public_key())
    assert matcher.counts() == {"vpdq": 20} and matcher.skipped_signals == ()
    assert matcher.lookup("vpdq", flipped(frames[3], 31, rng).tobytes().hex()) == [IndicatorHit(503, "vpdq", 31)]
    assert matcher.lookup("vpdq", flipped(frames[3], 32, rng).tobytes().hex()) == []


def delta_between(directory: Path, key, old: dict, new: dict, version: int, name: str = "l", old_version: int | None = None) -> Path:
    """A signed delta from `old` (as version `old_version`, default the one before) to `new`."""
    base_version = version - 1 if old_version is None else old_version
    for label, entries, number in (("base", old, base_version), ("target", new, version)):
        sections = {("entries", s): Section.of(ids, hashes, WIDTHS[s]) for s, (ids, hashes) in entries.items()}
        written = write_hashlist(
            directory / f"{name}-{label}-{version}", sections, key, name=name, version=number, previous_version=number - 1 if number > 1 else None
        )
    base = read_hashlist(directory / f"{name}-base-{version}", key.public_key())
    target = read_hashlist(directory / f"{name}-target-{version}", key.public_key())
    path = directory / f"{name}-v{version}.delta"
    write_delta(path, base, target, written, key)
    return path


def test_every_delta_not_applied_is_reported_with_its_reason(lists, key, tmp_path, caplog) -> None:
    v3 = {**lists["v2"], "md5": (lists["v2"]["md5"][0][:-1], lists["v2"]["md5"][1][:-1])}
    other_v1 = {**lists["v1"], "md5": (lists["v1"]["md5"][0][:-1], lists["v1"]["md5"][1][:-1])}
    updates = tmp_path / "updates"
    updates.mkdir()
    paths = {
        "skipped": delta_between(updates, key, lists["v2"], v3, 3),
        "wrong_list": delta_between(updates, key, lists["v1"], lists["v2"], 2, name="m"),
        "does_not_fit": delta_between(updates, key, other_v1, lists["v2"], 2, name="l", old_version=1).rename(updates / "l-other-base.delta"),
        "bad_signature": delta_between(updates, Ed25519PrivateKey.generate(), lists["v1"], lists["v2"], 2, name="x"),
    }
    matcher = HashListMatcher.from_hashlist(lists["dir"] / "v1", key.public_key())
    with caplog.at_level("WARNING", logger=platform_matcher.__name__):
        report = matcher.apply_deltas(paths.values())
    assert report.applied == () and matcher.version == 1
    problems = {entry.file: (str(entry.problem), entry.reason) for entry in report.unapplied}
    assert problems[paths["skipped"].name][0] == "skipped_version" and "from the loaded version 1 to v2 are missing" in problems[paths["skipped"].name][1]
    assert problems[paths["wrong_list"].name] == ("wrong_list", "this delta is for list 'm', not 'l'")
    assert problems[paths["does_not_fit"].name][0] == "does_not_fit" and "payload SHA-256 differs" in problems[paths["does_not_fit"].name][1]
    assert problems[paths["bad_signature"].name][0] == "bad_signature"
    assert sorted(record.getMessage().split()[3] for record in caplog.records) == sorted(problems)

    # The missing delta arrives: both apply, in order, in one call; the old one then is a replay.
    report = matcher.apply_deltas([paths["skipped"], lists["dir"] / "v2.delta"])
    assert report.applied == ("v2.delta", paths["skipped"].name) and report.unapplied == () and matcher.version == 3
    [replay] = matcher.apply_deltas([lists["dir"] / "v2.delta"]).unapplied
    assert (replay.problem, replay.reason) == ("replay", "v1 -> v2 is already in the loaded version 3")
