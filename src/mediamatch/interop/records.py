"""One known item as other systems' hash lists describe it, and the value rules they share.

Project VIC (VICS JSON), INTERPOL's ICSE export and NCMEC/ThreatExchange CSV lists all say,
per item, some hashes plus some of: a category, Baseline, whether the victim and the offender
are identified, whether the item is known to be distributed, a series, tags. `ExchangeRecord`
holds exactly that, with None for "the source did not say", so readers and writers of every
format meet the catalogue through one shape. No I/O here.

Flags arrive as JSON booleans, as strings ("true", "True", "false"), as "1"/"0" and, in ICSE
exports, as yes/no words (IPED's ICSE reader, sepinf-inc/IPED `HashDBTool.setupIcse`, accepts
y/yes/t/true and n/no/f/false); `parse_flag` takes all of them and refuses anything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from mediamatch.catalog.records import Category
from mediamatch.signals.registry import get_signal

# The hashes these formats carry as columns; each is checked by its signal (width from the registry).
HEX_FIELDS = ("md5", "sha1", "sha256", "pdq")
PHOTODNA_MAX_CHARS = 512  # media_signals.value; a PhotoDNA is 192 base64 or 288 hex characters
_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f"})
_PRINTABLE = re.compile(r"^[\x21-\x7e]+$")
_HEX = re.compile(r"[0-9a-f]+")


class Format(StrEnum):
    """The outside formats a hash list is read from or written to (a command-line choice: kept
    here, with no I/O, so `mediamatch --help` need not import the exchange service)."""

    VICS = "vics"
    ICSE = "icse"
    CSV = "csv"


class ExchangeFormatError(ValueError):
    """The file as a whole is not in the format it was read as; the message says why."""


class RecordError(ValueError):
    """One record that cannot be read; `position` says where (record number or line)."""

    def __init__(self, position: str, message: str) -> None:
        super().__init__(f"{position}: {message}")
        self.position = position
        self.message = message


@dataclass(frozen=True, slots=True)
class ExchangeRecord:
    """One item of a hash list. Hex digests are lower-case; None means "not stated"."""

    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    pdq: str | None = None
    photodna: str | None = None  # opaque: stored and written back exactly as received
    source_id: str | None = None  # the sender's id (VICS MediaID, ICSE Image ID, NCMEC id)
    category: int | None = None
    baseline: bool | None = None
    victim_identified: bool | None = None
    offender_identified: bool | None = None
    distributed: bool | None = None
    series: str | None = None
    tags: str | None = None
    size: int | None = None
    media_type: str | None = None
    submissions: int | None = None
    file_available: bool | None = None
    # VICS fields kept as given, to be written back (the catalogue acts on none of them)
    date_updated: str | None = None  # DateUpdated (ISO 8601 text)
    precategorized: bool | None = None  # IsPrecategorized
    precategorization_source: str | None = None  # PrecategorizationSource
    comments: str | None = None  # Comments
    names: tuple[str, ...] = field(default=())  # file names the sender saw it under
    position: str = field(default="", compare=False)  # where it was read ("record 3", "line 7")

    def __post_init__(self) -> None:
        for name in HEX_FIELDS:
            value = getattr(self, name)
            if value is not None:
                signal = get_signal(name)
                try:
                    object.__setattr__(self, name, signal.validate(value))
                except ValueError:
                    raise ValueError(f"{name} must be {signal.hex_digits()} hex digits, got {_show(value.strip().lower())}") from None
        if self.photodna is not None and (len(self.photodna) > PHOTODNA_MAX_CHARS or not _PRINTABLE.match(self.photodna)):
            raise ValueError(f"PhotoDNA must be up to {PHOTODNA_MAX_CHARS} printable characters without spaces, got {_show(self.photodna)}")
        if not (self.md5 or self.sha1 or self.sha256 or self.pdq or self.photodna):
            raise ValueError("no hash (MD5, SHA-1, SHA-256, PDQ or PhotoDNA)")
        if self.category is not None and self.category not in tuple(Category):
            raise ValueError(f"category {self.category} is not a Project VIC category (0-4)")
        for name in ("size", "submissions"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} cannot be negative ({value})")


def parse_flag(value: object, name: str) -> bool | None:
    """A yes/no field in any spelling the formats use; None for absent or empty."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if not text:
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError(f"{name} must be true or false, got {_show(value)}")


def parse_int(value: object, name: str) -> int | None:
    """A whole number given as a number or as text ("2835"); None for absent or empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number, got {_show(value)}")  # noqa: TRY004 - a bad record is one kind of error
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ValueError(f"{name} must be a whole number, got {_show(value)}")


def parse_text(value: object, name: str) -> str | None:
    """A text field; numbers are taken as their text, empty text as absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"{name} must be text, got {_show(value)}")  # noqa: TRY004 - a bad record is one kind of error
    text = str(value).strip()
    return text or None


def format_flag(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
