"""Shared text clean-up, mirrored exactly by the SQL macros in :mod:`citybase.standards.sql`."""

from __future__ import annotations

# Whitespace removed from codes before validation: ASCII blanks, NBSP, ideographic space,
# zero-width space and BOM (all seen in spreadsheets exported by government systems).
WS_CHARS = " \t\n\r\f\v\u00a0\u3000\u200b\ufeff"
_WS_TABLE = {ord(c): None for c in WS_CHARS}
_WS_DASH_TABLE = {**_WS_TABLE, ord("-"): None}
_UPPER_TABLE = {c: c - 32 for c in range(ord("a"), ord("z") + 1)}


def as_text(value: object) -> str | None:
    """None stays None; str is returned as is; anything else goes through ``str()``."""
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def remove_ws(value: str) -> str:
    """Delete every character of :data:`WS_CHARS` (anywhere in the string)."""
    return value.translate(_WS_TABLE)


def remove_ws_dash(value: str) -> str:
    """Delete whitespace and ASCII hyphens."""
    return value.translate(_WS_DASH_TABLE)


def ascii_upper(value: str) -> str:
    """Upper-case ASCII letters only (``str.upper`` maps e.g. 'ß' to 'SS'; SQL does not)."""
    return value.translate(_UPPER_TABLE)
