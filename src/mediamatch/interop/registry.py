"""The interop formats this build knows, by name: what `--format` offers and the exchange
service iterates. A new format is one module with a class following `interop.base.InteropFormat`,
added here."""

from __future__ import annotations

from collections.abc import Mapping

from mediamatch.interop.base import InteropFormat
from mediamatch.interop.csvlists import CsvListFormat
from mediamatch.interop.icse import IcseFormat
from mediamatch.interop.records import ExchangeFormatError
from mediamatch.interop.vics import VicsFormat

FORMATS: Mapping[str, InteropFormat] = {fmt.name: fmt for fmt in (VicsFormat(), IcseFormat(), CsvListFormat())}


def get_format(name: str) -> InteropFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise ExchangeFormatError(f"unknown format {name!r}; known: {', '.join(FORMATS)}") from None
