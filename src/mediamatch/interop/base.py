"""The one small protocol every interop format follows, so callers never switch on a format name.

A format says its `name` (the `--format` value, a stable key), what it can express (which
hashes and which other record fields it carries; a record it cannot write is counted and left
out, never half written), and its options (each a command-line flag of its own, for import or
for export). `read` streams the records of a file; `write` writes records to a text stream.
The registry (`interop/registry.py`) lists them; the exchange service and the CLI iterate it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Protocol

from mediamatch.interop.records import ExchangeFormatError, ExchangeRecord, RecordError


class Direction(StrEnum):
    IMPORT = "import"
    EXPORT = "export"


@dataclass(frozen=True, slots=True)
class FormatOption:
    """One setting of a format: `flag` is its command-line name (`--<flag>`) and its key in the
    options a format's `read` or `write` receives."""

    flag: str
    help: str
    direction: Direction
    choices: tuple[str, ...] = ()
    default: str | None = None


@dataclass(frozen=True, slots=True)
class Expresses:
    """What a format can carry. `signals` are the record's hash fields it holds; a record can be
    written only when it has one of `keys` (VICS: an MD5, the key of every Media record).
    `fields` are the other record fields it holds (`category`, `series`, ...)."""

    signals: tuple[str, ...]
    keys: tuple[str, ...]
    fields: frozenset[str]

    @property
    def categories(self) -> bool:
        return "category" in self.fields

    @property
    def series(self) -> bool:
        """Whether a record names its series: an item in two series is then two records."""
        return "series" in self.fields

    def can_write(self, record: ExchangeRecord) -> bool:
        return any(getattr(record, key) for key in self.keys)


Options = Mapping[str, str]


class InteropFormat(Protocol):
    @property
    def name(self) -> str:
        """The `--format` value: a stable key, never derived from a class name."""
        ...

    @property
    def title(self) -> str:
        """One line for help texts."""
        ...

    @property
    def expresses(self) -> Expresses: ...

    @property
    def options(self) -> tuple[FormatOption, ...]: ...

    def read(self, path: Path, options: Options) -> Iterator[ExchangeRecord | RecordError]:
        """Every record of the file, streamed, or the error of the record that could not be read.
        Raises `ExchangeFormatError` when the file is not in this format at all (also when first
        iterated), OSError when it cannot be read."""
        ...

    def write(self, records: Iterable[ExchangeRecord], out: IO[str], options: Options) -> int:
        """Write records this format `can_write`; returns how many were written."""
        ...


class FileNote(RecordError):
    """Something a reader tells about the file as a whole (e.g. a field it did not take, and
    why): the import summary lists it as a warning, not as an error."""


def option_settings(fmt: InteropFormat, direction: Direction, given: Mapping[str, str | None]) -> dict[str, str]:
    """The options `fmt` takes in `direction`: those given (None: not given) and the defaults of
    the rest. Raises `ExchangeFormatError` for an option the format does not take that way, or a
    value outside its choices: an option must never be silently ignored."""
    own = {option.flag: option for option in fmt.options if option.direction is direction}
    settings: dict[str, str] = {}
    for flag, value in given.items():
        if value is None:
            continue
        if flag not in own:
            raise ExchangeFormatError(f"--{flag} is not an option of {fmt.name} {direction}")
        if own[flag].choices and value not in own[flag].choices:
            raise ExchangeFormatError(f"--{flag} must be one of {', '.join(own[flag].choices)}, not {value!r}")
        settings[flag] = value
    for flag, option in own.items():
        if flag not in settings and option.default is not None:
            settings[flag] = option.default
    return settings


def read_text(path: Path, parse: Callable[[IO[str]], Iterator[ExchangeRecord | RecordError]]) -> Iterator[ExchangeRecord | RecordError]:
    """The records `parse` reads from the UTF-8 text file at `path` (a byte-order mark skipped).
    A file that is not UTF-8 from its start is refused; one that stops being UTF-8 part-way
    keeps what came before and ends with an error saying where."""
    read = 0
    with path.open(encoding="utf-8-sig", errors="strict", newline="") as text:
        try:
            for read, entry in enumerate(parse(text), start=1):  # noqa: B007 - `read` is used after the loop
                yield entry
        except UnicodeDecodeError:
            if not read:
                raise ExchangeFormatError(f"{path.name} is not UTF-8 text: re-save it as UTF-8") from None
            yield RecordError(f"after entry {read}", "the file stops being UTF-8 text here, nothing after it was read: re-save it as UTF-8")
