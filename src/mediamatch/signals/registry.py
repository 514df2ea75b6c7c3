"""Finds every signal type: the built-ins and any installed plugin, through one door.

A signal registers a `SignalType` subclass under the `mediamatch.signals` entry-point group. The
built-ins are declared there too (pyproject.toml), and the same entry points are listed here so
a source tree without installed metadata still finds them: both go through `_load`, so a
built-in is held to exactly the checks a plugin is. The registry is read once per process
(entry-point scanning costs milliseconds; hashing asks the registry for every file).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from mediamatch.signals.base import NAMINGS, ComputesFrom, IndexKind, MediaKind, SignalType

ENTRY_POINT_GROUP = "mediamatch.signals"
BUILT_IN: tuple[EntryPoint, ...] = tuple(
    EntryPoint(name, value, ENTRY_POINT_GROUP)
    for name, value in (
        ("md5", "mediamatch.signals.crypto:MD5Signal"),
        ("sha1", "mediamatch.signals.crypto:SHA1Signal"),
        ("sha256", "mediamatch.signals.crypto:SHA256Signal"),
        ("pdq", "mediamatch.signals.pdq:PDQSignal"),
        ("vpdq", "mediamatch.signals.vpdq:VPDQSignal"),
        ("local_features", "mediamatch.signals.local_features:LocalFeaturesSignal"),
        ("global_descriptor", "mediamatch.signals.global_descriptor:GlobalDescriptorSignal"),
    )
)


def _load(entry: EntryPoint) -> type[SignalType]:
    signal = entry.load()
    if not (isinstance(signal, type) and issubclass(signal, SignalType)):
        raise TypeError(f"entry point {entry.name!r} does not name a SignalType subclass")
    if signal.name != entry.name:
        raise TypeError(f"entry point {entry.name!r} names signal {signal.name!r}: the two must agree")
    return signal


def _register(entries: Iterable[EntryPoint]) -> dict[str, type[SignalType]]:
    found: dict[str, type[SignalType]] = {}
    for entry in entries:
        if entry.name not in found:  # installed metadata repeats the built-ins
            found[entry.name] = _load(entry)
    return found


@cache
def _signals_by_name() -> dict[str, type[SignalType]]:
    return _register((*BUILT_IN, *entry_points(group=ENTRY_POINT_GROUP)))


def reload() -> None:
    """Forget the registry, so the next call reads the entry points again (tests, plugin
    installs in a long-lived process)."""
    _signals_by_name.cache_clear()
    _signals_by_any_name.cache_clear()
    computed_from.cache_clear()


def all_signals() -> tuple[type[SignalType], ...]:
    """The hash signals: those whose values records, the catalogue's signal rows, hash lists,
    exports and reports carry. Descriptor signals are not among them (`descriptor_signals`):
    similarity data stay with investigators, so nothing that iterates this can leak them."""
    return tuple(signal for signal in _signals_by_name().values() if signal.index_kind not in _SIMILARITY_KINDS)


_SIMILARITY_KINDS = ("descriptor", "embedding")


def embedding_signals() -> tuple[type[SignalType], ...]:
    """Signals searched by one learned vector per picture (the global descriptor), only while
    their model can run here (signals/global_descriptor.py `unavailable`)."""
    from mediamatch.signals.global_descriptor import unavailable

    if unavailable() is not None:
        return ()
    return tuple(signal for signal in _signals_by_name().values() if signal.index_kind == "embedding")


def descriptor_signals() -> tuple[type[SignalType], ...]:
    """Signals searched by local descriptors and geometric verification (local features)."""
    return tuple(signal for signal in _signals_by_name().values() if signal.index_kind == "descriptor")


def signal_names() -> tuple[str, ...]:
    return tuple(signal.name for signal in all_signals())


def get_signal(name: str) -> type[SignalType]:
    """The hash signal called `name` (a descriptor signal is not one: see `all_signals`)."""
    found = find_signal(name)
    if found is None:
        raise KeyError(f"unknown signal {name!r}; known: {', '.join(sorted(signal_names()))}")
    return found


def find_signal(name: str) -> type[SignalType] | None:
    """The hash signal called `name`, or None: values named by a descriptor signal (in a hash
    list, an imported record, a query) are refused like those of an unknown signal."""
    signal = _signals_by_name().get(name)
    return signal if signal is not None and signal.index_kind not in _SIMILARITY_KINDS else None


@cache
def _signals_by_any_name() -> dict[str, type[SignalType]]:
    """Every name a signal is known by, lower-cased: its own, then each tool's (`outside_names`).
    Two signals claiming one name would make an imported line mean either: refused at load."""
    found: dict[str, type[SignalType]] = {}
    for signal in all_signals():
        for name in (signal.name, *(alias for aliases in signal.outside_names.values() for alias in aliases)):
            claimed = found.setdefault(name.lower(), signal)
            if claimed is not signal:
                raise TypeError(f"signals {claimed.name!r} and {signal.name!r} both claim the name {name!r}")
    return found


def resolve_signal(name: str) -> type[SignalType] | None:
    """The signal `name` denotes, in our naming or any tool's (`video_md5`, `PDQ`), ignoring case:
    what lists and lookups from other tools are read with. None for a name no signal answers to."""
    return _signals_by_any_name().get(name.strip().lower())


def accepted_names() -> tuple[str, ...]:
    """Every (lower-case) name `resolve_signal` answers to, for help texts and error messages."""
    return tuple(sorted(_signals_by_any_name()))


def outside_name(signal: type[SignalType], naming: str) -> str | None:
    """What `naming` (base.NAMINGS) calls `signal`: the name an export in that naming writes, or
    None where that tool has no such signal (the value is then left out)."""
    if naming == NAMINGS[0]:
        return signal.name
    if naming not in NAMINGS:
        raise ValueError(f"unknown naming {naming!r}; known: {', '.join(NAMINGS)}")
    names = signal.outside_names.get(naming, ())
    return names[0] if names else None


@cache  # asked for every hashed file
def computed_from(source: ComputesFrom) -> tuple[type[SignalType], ...]:
    """The signals the hashing pipeline computes from `source`, in registry order."""
    return tuple(signal for signal in all_signals() if signal.computes_from == source)


def with_index(kind: IndexKind) -> tuple[type[SignalType], ...]:
    return tuple(signal for signal in all_signals() if signal.index_kind == kind)


def exact_signals() -> tuple[type[SignalType], ...]:
    """Exact signals, widest digest first: where a file matches by several, the strongest
    evidence (a SHA-256 hit rather than an MD5 one) is the one reported."""
    return tuple(sorted(with_index("exact"), key=lambda signal: -signal.bits))


def ranked_signals() -> tuple[type[SignalType], ...]:
    """Exact signals widest first, then the others in registry order: the order in which a
    file's signals are searched (the first match found is the one reported) and shown."""
    return (*exact_signals(), *(signal for signal in all_signals() if signal.index_kind != "exact"))


def hamming_signal(kind: MediaKind) -> type[SignalType]:
    """The Hamming-indexed signal that describes `kind` ("image": stills, "video_frame": frames
    of videos). The catalogue and the platform matcher keep one 256-bit Hamming index per kind."""
    for signal in all_signals():
        if signal.index_kind == "hamming" and kind in signal.media_kinds:
            return signal
    raise KeyError(f"no Hamming-indexed signal describes {kind!r}")
