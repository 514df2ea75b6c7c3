"""Deltas between versions of a signed list: what left and what came, a byte-for-byte rebuild
of the next version, and a delta for another base refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hashlist_support import sections

from mediamatch.hashlist.delta import apply_delta, apply_delta_file, write_delta
from mediamatch.hashlist.format import HashListError, read_hashlist, write_hashlist


def test_a_delta_names_what_left_and_what_came_and_rebuilds_the_next_version(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    rng = np.random.default_rng(3)
    old_path, new_path, delta_path = tmp_path / "v1.mmhl", tmp_path / "v2.mmhl", tmp_path / "v2.mmhl.delta"
    write_hashlist(old_path, sections(rng, {"pdq": [1, 2, 3, 4], "md5": [10, 11]}), key, name="l", version=1)
    target = write_hashlist(new_path, sections(rng, {"pdq": [1, 3, 4, 7, 8], "md5": [11], "sha256": [20]}), key, name="l", version=2, previous_version=1)
    old, new = read_hashlist(old_path, key.public_key()), read_hashlist(new_path, key.public_key())
    write_delta(delta_path, old, new, target, key)
    delta = read_hashlist(delta_path, key.public_key())
    assert delta.kind == "delta" and delta.version == 2 and delta.header["previous_version"] == 1
    assert delta.counts() == {"added": {"pdq": 2, "sha256": 1}, "removed": {"md5": 1, "pdq": 1}}
    assert delta.section("removed", "pdq").ids.tolist() == [2]
    assert delta.section("removed", "md5").ids.tolist() == [10]
    assert delta.section("added", "pdq").ids.tolist() == [7, 8]
    assert apply_delta(old, delta, key.public_key()) == new_path.read_bytes()
    rebuilt = apply_delta_file(old_path, delta_path, key.public_key(), tmp_path / "rebuilt.mmhl")
    assert (tmp_path / "rebuilt.mmhl").read_bytes() == new_path.read_bytes()
    assert rebuilt.counts() == {"md5": 1, "pdq": 5, "sha256": 1}


def test_a_delta_for_another_base_is_refused(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    rng = np.random.default_rng(4)
    write_hashlist(tmp_path / "v1.mmhl", sections(rng, {"pdq": [1, 2]}), key, name="l", version=1)
    write_hashlist(tmp_path / "v1b.mmhl", sections(rng, {"pdq": [1, 5]}), key, name="l", version=1)
    target = write_hashlist(tmp_path / "v2.mmhl", sections(rng, {"pdq": [1]}), key, name="l", version=2, previous_version=1)
    v1, v1b, v2 = (read_hashlist(tmp_path / n, key.public_key()) for n in ("v1.mmhl", "v1b.mmhl", "v2.mmhl"))
    write_delta(tmp_path / "d", v1, v2, target, key)
    delta = read_hashlist(tmp_path / "d", key.public_key())
    with pytest.raises(HashListError, match="made from a different version 1"):
        apply_delta(v1b, delta, key.public_key())
    with pytest.raises(HashListError, match="turns version 1 into 2; the list given is version 2"):
        apply_delta(v2, delta, key.public_key())
    with pytest.raises(HashListError, match="a full list, not a delta"):
        apply_delta(v1, v2, key.public_key())
