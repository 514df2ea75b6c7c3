"""Signing keys: a new private key only its owner reads, never overwritten, and the public key
beside it names the same key id."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediamatch.hashlist.format import HashListError, key_id
from mediamatch.hashlist.signing import generate_keypair, load_private_key, load_public_key


def test_keygen_writes_a_private_key_only_its_owner_reads(tmp_path: Path) -> None:
    public_path = generate_keypair(tmp_path / "signing.key")
    assert (tmp_path / "signing.key").stat().st_mode & 0o777 == 0o600
    private, public = load_private_key(tmp_path / "signing.key"), load_public_key(public_path)
    assert key_id(private.public_key()) == key_id(public)
    with pytest.raises(HashListError, match="exists"):
        generate_keypair(tmp_path / "signing.key")
    with pytest.raises(HashListError, match="not a readable Ed25519 public key"):
        load_public_key(tmp_path / "signing.key")
