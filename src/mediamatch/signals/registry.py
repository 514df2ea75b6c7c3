"""Finds every signal type: the built-ins plus any installed plugin.

Plugins register a `SignalType` subclass under the `mediamatch.signals` entry-point group, so a
new hash plugs in without touching the callers that iterate `all_signals()`.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from mediamatch.signals.base import SignalType
from mediamatch.signals.crypto import MD5Signal, SHA1Signal, SHA256Signal
from mediamatch.signals.pdq import PDQSignal

BUILT_IN: tuple[type[SignalType], ...] = (MD5Signal, SHA1Signal, SHA256Signal, PDQSignal)
ENTRY_POINT_GROUP = "mediamatch.signals"


@cache
def _signals_by_name() -> dict[str, type[SignalType]]:
    found = {signal.name: signal for signal in BUILT_IN}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        signal = entry.load()
        if not (isinstance(signal, type) and issubclass(signal, SignalType)):
            raise TypeError(f"entry point {entry.name!r} does not name a SignalType subclass")
        found.setdefault(signal.name, signal)
    return found


def all_signals() -> list[type[SignalType]]:
    return list(_signals_by_name().values())


def get_signal(name: str) -> type[SignalType]:
    try:
        return _signals_by_name()[name]
    except KeyError:
        raise KeyError(f"unknown signal {name!r}; known: {', '.join(sorted(_signals_by_name()))}") from None
