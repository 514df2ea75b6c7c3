"""What a person types is checked before it is stored: names and ISO 3166-1 country codes."""

from __future__ import annotations

import re

import pytest

from mediamatch.catalog.validate import NAME_MAX_LENGTH, UNSTATED_COUNTRY, clean_name, country_code, series_name


@pytest.mark.parametrize(("typed", "stored"), [("NL", "NL"), ("nl", "NL"), (" de ", "DE"), ("gb", "GB"), ("XX", UNSTATED_COUNTRY)])
def test_alpha_2_codes_are_accepted_upper_cased(typed: str, stored: str) -> None:
    assert country_code(typed) == stored


@pytest.mark.parametrize(
    ("typed", "advice"),
    [
        ("Netherlands", "for Netherlands use NL"),
        ("NLD", "for Netherlands use NL"),
        ("germany", "for Germany use DE"),
        ("UK", "use GB"),
        ("ZZ", "such as NL, DE, US"),
        ("", "such as NL, DE, US"),
        ("N", "such as NL, DE, US"),
    ],
)
def test_anything_else_is_refused_with_the_code_to_use(typed: str, advice: str) -> None:
    with pytest.raises(ValueError, match=r"ISO 3166-1|reserved") as refused:
        country_code(typed)
    assert advice in str(refused.value)


def test_names_are_trimmed_and_refused_when_empty_too_long_or_hiding_characters() -> None:
    assert series_name("  Lark  ") == "Lark"
    assert clean_name("Zoë – 東京", "series name") == "Zoë – 東京"  # noqa: RUF001 - a real dash in a real name
    assert clean_name("x" * NAME_MAX_LENGTH) == "x" * NAME_MAX_LENGTH
    for bad, reason in [("", "empty"), (" \t ", "empty"), ("x" * (NAME_MAX_LENGTH + 1), "at most 200"),
                        ("Lark\nOwl", "U+000A"), ("Lark\x00", "U+0000"), ("kraL\u202e", "U+202E"), ("La\u200brk", "U+200B")]:  # fmt: skip
        with pytest.raises(ValueError, match=re.escape(reason)):
            series_name(bad)
