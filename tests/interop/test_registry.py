"""Every registered interop format follows the protocol: a stable name, options the CLI can
offer as flags of their own, and a round trip through `write` and `read` that keeps exactly
what the format says it expresses."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest
from interop_support import PHOTODNA_BASE64

from mediamatch.interop.base import Direction, option_settings
from mediamatch.interop.records import ExchangeFormatError, ExchangeRecord
from mediamatch.interop.registry import FORMATS, get_format

EVERYTHING = ExchangeRecord(
    md5="1" * 32, sha1="2" * 40, sha256="3" * 64, pdq="4" * 64, photodna=PHOTODNA_BASE64, source_id="17", category=2,
    baseline=True, victim_identified=True, offender_identified=False, distributed=True, series="Lark", tags="indoor",
    size=2835, media_type="Image", submissions=3, file_available=True,
    date_updated="2023-06-07T02:31:49.8300Z", precategorized=False, precategorization_source="hash set", comments="seen 2019",
)  # fmt: skip
RECORD_FIELDS = {field.name for field in fields(ExchangeRecord)} - {"position", "names"}


def test_names_are_registry_keys_and_unknown_names_are_refused() -> None:
    assert all(name == fmt.name for name, fmt in FORMATS.items())
    assert set(FORMATS) >= {"vics", "icse", "csv"}
    with pytest.raises(ExchangeFormatError, match="unknown format 'stix'; known: vics, icse, csv"):
        get_format("stix")


def test_option_flags_are_unique_and_defaults_are_among_their_choices() -> None:
    """The CLI offers each option as one flag: two formats may not declare the same flag."""
    flags = [option.flag for fmt in FORMATS.values() for option in fmt.options]
    assert len(flags) == len(set(flags))
    for fmt in FORMATS.values():
        for option in fmt.options:
            assert option.default is None or not option.choices or option.default in option.choices


@pytest.mark.parametrize("name", list(FORMATS))
def test_what_a_format_expresses_survives_its_round_trip(name: str, tmp_path: Path) -> None:
    fmt = FORMATS[name]
    expressed = set(fmt.expresses.signals) | fmt.expresses.fields
    assert expressed <= RECORD_FIELDS
    path = tmp_path / f"out.{name}"
    with path.open("w", encoding="utf-8", newline="") as out:
        assert fmt.write([EVERYTHING], out, option_settings(fmt, Direction.EXPORT, {})) == 1
    [back] = list(fmt.read(path, option_settings(fmt, Direction.IMPORT, {})))
    assert isinstance(back, ExchangeRecord), back
    assert {field: getattr(back, field) for field in expressed} == {field: getattr(EVERYTHING, field) for field in expressed}
    assert all(getattr(back, field) in (None, ()) for field in RECORD_FIELDS - expressed)  # nothing it claims not to carry
    assert fmt.expresses.categories == ("category" in fmt.expresses.fields)


def test_a_record_without_any_key_of_a_format_cannot_be_written_by_it() -> None:
    sha256_only = ExchangeRecord(sha256="3" * 64)
    assert [name for name, fmt in FORMATS.items() if fmt.expresses.can_write(sha256_only)] == ["csv"]
    assert FORMATS["icse"].expresses.can_write(ExchangeRecord(photodna=PHOTODNA_BASE64))
    assert not FORMATS["vics"].expresses.can_write(ExchangeRecord(photodna=PHOTODNA_BASE64))


def test_options_are_checked_never_silently_ignored() -> None:
    vics, csv = get_format("vics"), get_format("csv")
    assert option_settings(vics, Direction.EXPORT, {}) == {"vics-version": "2.0"}
    assert option_settings(vics, Direction.EXPORT, {"vics-version": "1.3"}) == {"vics-version": "1.3"}
    assert option_settings(vics, Direction.IMPORT, {"vics-version": None}) == {}  # not given
    assert option_settings(csv, Direction.IMPORT, {"signal-type": "pdq"}) == {"signal-type": "pdq"}
    with pytest.raises(ExchangeFormatError, match="--csv-layout is not an option of vics export"):
        option_settings(vics, Direction.EXPORT, {"csv-layout": "rows"})
    with pytest.raises(ExchangeFormatError, match="--vics-version is not an option of vics import"):
        option_settings(vics, Direction.IMPORT, {"vics-version": "2.0"})
    with pytest.raises(ExchangeFormatError, match=re.escape("--vics-version must be one of 1.3, 2.0, not '3.1'")):
        option_settings(vics, Direction.EXPORT, {"vics-version": "3.1"})
