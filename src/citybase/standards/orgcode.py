"""组织机构代码 — GB 11714 (organisation code): 8 body characters + 1 check character."""

from __future__ import annotations

import re

from ._text import as_text, ascii_upper, remove_ws

__all__ = ["ORG_CODE_WEIGHTS", "check_org_code", "normalize_org_code", "org_code_check_char"]

ORG_CODE_WEIGHTS: tuple[int, ...] = (3, 7, 9, 10, 5, 8, 4, 2)
_BODY = re.compile(r"[0-9A-Z]{8}")
_FULL = re.compile(r"([0-9A-Z]{8})-?([0-9X])")


def _char_value(c: str) -> int:
    return ord(c) - 48 if c <= "9" else ord(c) - 55  # '0'-'9' -> 0-9, 'A'-'Z' -> 10-35


def org_code_check_char(body8: str) -> str:
    """Check character for an 8-character body (digits / upper-case letters): '0'-'9' or 'X'."""
    if not isinstance(body8, str) or not _BODY.fullmatch(body8):
        raise ValueError("组织机构代码本体应为8位数字或大写字母")
    total = sum(_char_value(c) * w for c, w in zip(body8, ORG_CODE_WEIGHTS, strict=True))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def normalize_org_code(value: str) -> str | None:
    """The code as 8 body characters, a hyphen and the check character (input with or without the
    hyphen), or None when it is not a valid code."""
    s = as_text(value)
    if s is None:
        return None
    m = _FULL.fullmatch(ascii_upper(remove_ws(s)))
    if not m or org_code_check_char(m.group(1)) != m.group(2):
        return None
    return f"{m.group(1)}-{m.group(2)}"


def check_org_code(value: str) -> bool:
    """True for a valid organisation code, e.g. ``60003734-1`` or ``600037341``."""
    return normalize_org_code(value) is not None
