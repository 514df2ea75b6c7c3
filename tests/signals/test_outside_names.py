"""Other tools' names for our signals: one table, declared by each signal, and never ambiguous."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import pytest

from mediamatch.signals import registry
from mediamatch.signals.base import NAMINGS
from mediamatch.signals.crypto import MD5Signal, SHA256Signal


class ClaimsVideoMD5(SHA256Signal):
    name: ClassVar[str] = "claims_video_md5"
    outside_names: ClassVar[Mapping[str, tuple[str, ...]]] = {"threatexchange": ("VIDEO_MD5",)}


def test_every_outside_name_is_of_a_known_naming_and_resolves_back() -> None:
    for signal in registry.all_signals():
        for naming, names in signal.outside_names.items():
            assert naming in NAMINGS[1:] and names, signal.name
            assert all(registry.resolve_signal(name) is signal for name in names)
            assert registry.outside_name(signal, naming) == names[0]
    with pytest.raises(ValueError, match="unknown naming"):
        registry.outside_name(MD5Signal, "hma-v9")


def test_two_signals_claiming_one_name_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    known = {signal.name: signal for signal in registry.all_signals()}
    monkeypatch.setattr(registry, "_signals_by_name", lambda: {**known, ClaimsVideoMD5.name: ClaimsVideoMD5})
    registry._signals_by_any_name.cache_clear()
    try:
        with pytest.raises(TypeError, match="'md5' and 'claims_video_md5' both claim the name 'VIDEO_MD5'"):
            registry.resolve_signal("pdq")
    finally:
        registry._signals_by_any_name.cache_clear()
