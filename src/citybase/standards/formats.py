"""Simple formats: mainland mobile numbers and postcodes (mirrored by the SQL macros)."""

from __future__ import annotations

import re
from datetime import date

from ._text import as_text, remove_ws, remove_ws_dash

__all__ = [
    "MOBILE_PATTERN",
    "POSTCODE_PATTERN",
    "is_valid_date",
    "is_valid_mobile",
    "is_valid_postcode",
    "normalize_mobile",
]

# Lenient on purpose: published "strict" prefix lists go stale as new ranges open.
MOBILE_PATTERN = r"(?:\+?86|0086)?1[3-9][0-9]{9}"
POSTCODE_PATTERN = r"[0-9]{6}"
_MOBILE = re.compile(MOBILE_PATTERN)
_POSTCODE = re.compile(POSTCODE_PATTERN)


def normalize_mobile(value: str) -> str | None:
    """The bare 11-digit number (country prefix, spaces and hyphens removed), or None."""
    s = as_text(value)
    if s is None:
        return None
    s = remove_ws_dash(s)
    return s[-11:] if _MOBILE.fullmatch(s) else None


def is_valid_mobile(value: str) -> bool:
    """True for a mainland mobile number, optionally with +86 / 86 / 0086, spaces, hyphens."""
    return normalize_mobile(value) is not None


def is_valid_postcode(value: str) -> bool:
    """True for a 6-digit postcode (whitespace ignored), e.g. Wuxi's 214000."""
    s = as_text(value)
    return s is not None and _POSTCODE.fullmatch(remove_ws(s)) is not None


_DATE_ISO = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DATE_COMPACT = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")


def is_valid_date(value: object) -> bool:
    """True for a real calendar date written ``YYYY-MM-DD`` or ``YYYYMMDD`` (year 0001-9999)."""
    if isinstance(value, date):
        return True
    s = as_text(value)
    if s is None:
        return False
    s = remove_ws(s)
    m = _DATE_ISO.fullmatch(s) or _DATE_COMPACT.fullmatch(s)
    if not m:
        return False
    try:
        date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return False
    return True
