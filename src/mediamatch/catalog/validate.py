"""Checking what a person types before it is stored: names (series, agencies, cases) and
country codes.

Every front end uses these, so a value the command line refuses is refused by the API too.
Each check returns the value as it will be stored (trimmed, upper-cased) or raises
`ValueError` with a message that says what to type instead.
"""

from __future__ import annotations

import unicodedata

import pycountry

NAME_MAX_LENGTH = 200  # the API's limit on a series name and a case reference
UNSTATED_COUNTRY = "XX"  # ISO 3166-1 user-assigned code: the agency did not say
_RESERVED_FOR = {"UK": "GB", "EL": "GR"}  # ISO 3166-1 "exceptionally reserved" codes still in everyday use


def clean_name(value: str, what: str = "name") -> str:
    """`value` trimmed; refused when empty, longer than NAME_MAX_LENGTH or holding control or
    format characters (a newline or a right-to-left override would make a series look like
    another in every list and report)."""
    name = value.strip()
    if not name:
        raise ValueError(f"the {what} is empty")
    if len(name) > NAME_MAX_LENGTH:
        raise ValueError(f"the {what} is {len(name)} characters long; at most {NAME_MAX_LENGTH}")
    hidden = sorted({f"U+{ord(char):04X}" for char in name if unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"}})
    if hidden:
        raise ValueError(f"the {what} {name!r} holds control or invisible characters ({', '.join(hidden)})")
    return name


def series_name(value: str) -> str:
    return clean_name(value, "series name")


def agency_name(value: str) -> str:
    return clean_name(value, "agency name")


def case_reference(value: str) -> str:
    return clean_name(value, "case reference")


def country_code(value: str) -> str:
    """An ISO 3166-1 alpha-2 code, upper-cased (`nl` -> `NL`), or XX for "not stated".

    A country's name or alpha-3 code is refused with the code to use instead, rather than
    guessed: an agency's country decides what it may share, so it must be what was meant."""
    code = value.strip().upper()
    if code == UNSTATED_COUNTRY or (len(code) == 2 and pycountry.countries.get(alpha_2=code) is not None):
        return code
    if code in _RESERVED_FOR:
        raise ValueError(f"{value!r} is reserved, not assigned, in ISO 3166-1; use {_RESERVED_FOR[code]}")
    try:
        meant = pycountry.countries.lookup(value.strip())
    except LookupError:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code (such as NL, DE, US)") from None
    raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code; for {meant.name} use {meant.alpha_2}")
