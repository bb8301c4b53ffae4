"""居民身份证号码 — GB 11643-1999 (citizen identity number).

``AAAAAA YYYYMMDD SSS C``: GB/T 2260 address code, birth date, sequence (odd = male) and an
ISO 7064 MOD 11-2 check character.  Legacy 15-digit numbers (``AAAAAA YYMMDD SSS``) have no
check character and are upgraded by inserting ``19`` and computing it.

The address code is the one in force when the number was issued and stays for life, so any
code that *ever* existed is accepted — it is never tied to the birth year.

:func:`check_id` returns a stable machine ``code`` for the first failed rule, in this order:
``empty`` → ``shape`` → ``birth_date`` → ``address_code`` → ``checksum`` (else ``ok``).
The SQL macros in :mod:`citybase.standards.sql` apply the same rules in the same order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from operator import mul
from typing import Literal

from ._text import as_text, remove_ws
from .division import all_division_codes

__all__ = [
    "EXTRA_ADDRESS_CODES",
    "ID_WEIGHTS",
    "IdCheck",
    "check_id",
    "id_check_char",
    "is_valid_id",
    "normalize_id",
    "upgrade_15_to_18",
]

ID_WEIGHTS: tuple[int, ...] = tuple(pow(2, 17 - i, 11) for i in range(17))  # 7 9 10 5 8 ...
_CHECK_CHARS = "10X98765432"
_SHAPE15 = re.compile(r"[0-9]{15}")
_DIGITS17 = re.compile(r"[0-9]{17}")

# Address codes of GB 11643-format numbers that are not GB/T 2260 divisions:
# 港澳台居民居住证 (residence permits) use 810000 (Hong Kong), 820000 (Macao), 830000 (Taiwan).
EXTRA_ADDRESS_CODES: frozenset[str] = frozenset({"810000", "820000", "830000"})

MIN_BIRTH_YEAR = 1900

_MESSAGES = {
    "ok": "身份证号码有效",
    "empty": "身份证号码为空",
    "shape": "身份证号码格式错误：应为18位（前17位为数字，末位为数字或X）或15位数字",
    "birth_date": "身份证号码中的出生日期无效（须为1900年以后、不晚于今天的真实日期）",
    "address_code": "身份证号码中的地址码不是曾经存在的行政区划代码",
    "checksum": "身份证号码校验码错误",
}


@dataclass(frozen=True)
class IdCheck:
    """Outcome of :func:`check_id`.

    ``code`` is one of 'ok', 'empty', 'shape', 'birth_date', 'address_code', 'checksum';
    ``message`` is a Chinese explanation.  ``normalized`` is the 18-character form (only when
    valid); ``address_code``, ``birth_date`` and ``gender`` are filled in as far as parsing got.
    """

    valid: bool
    code: str
    message: str
    normalized: str | None = None
    birth_date: date | None = None
    gender: Literal["M", "F"] | None = None
    address_code: str | None = None


def id_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character ('0'-'9' or 'X') for the first 17 digits."""
    if not isinstance(first17, str) or not _DIGITS17.fullmatch(first17):
        raise ValueError("需要17位数字（身份证号码前17位）")
    total = sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def _clean(value: object) -> str:
    s = as_text(value)
    return "" if s is None else remove_ws(s).replace("x", "X")


def upgrade_15_to_18(value: str) -> str:
    """Upgrade a legacy 15-digit number: insert '19' before the birth date, add the check char."""
    s = _clean(value)
    if not _SHAPE15.fullmatch(s):
        raise ValueError("需要15位数字的旧身份证号码")
    body = s[:6] + "19" + s[6:]
    return body + id_check_char(body)


def _birth_date(yyyymmdd: str) -> date | None:
    try:
        d = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return None
    if d.year < MIN_BIRTH_YEAR or d > date.today():
        return None
    return d


@lru_cache(maxsize=1)
def _address_codes() -> frozenset[str]:
    return all_division_codes() | EXTRA_ADDRESS_CODES


def _weighted_sum(body: str) -> int:
    return sum(map(mul, map(int, body), ID_WEIGHTS))


def _classify(value: object) -> tuple[str, str, str]:
    """(code, cleaned string, 17-digit body or '') — the rules of :func:`check_id`, fast."""
    s = _clean(value)
    if not s:
        return "empty", s, ""
    n = len(s)
    if n == 18 and s.isascii() and s[:17].isdigit() and (s[17] == "X" or s[17].isdigit()):
        body, birth = s[:17], s[6:14]
    elif n == 15 and s.isascii() and s.isdigit():
        body, birth = s[:6] + "19" + s[6:], "19" + s[6:12]
    else:
        return "shape", s, ""
    if _birth_date(birth) is None:
        return "birth_date", s, body
    if s[:6] not in _address_codes():
        return "address_code", s, body
    if n == 18 and s[17] != _CHECK_CHARS[_weighted_sum(body) % 11]:
        return "checksum", s, body
    return "ok", s, body


def _result(
    code: str,
    normalized: str | None = None,
    birth_date: date | None = None,
    gender: Literal["M", "F"] | None = None,
    address_code: str | None = None,
) -> IdCheck:
    return IdCheck(code == "ok", code, _MESSAGES[code], normalized, birth_date, gender, address_code)


def check_id(value: str) -> IdCheck:
    """Validate an identity number (18 or 15 characters; spaces and lower-case x tolerated)."""
    code, s, body = _classify(value)
    if not body:
        return _result(code)
    address = s[:6]
    born = _birth_date(body[6:14])
    if born is None:
        return _result(code, address_code=address)
    gender: Literal["M", "F"] = "M" if int(body[16]) % 2 else "F"
    normalized = body + _CHECK_CHARS[_weighted_sum(body) % 11] if code == "ok" else None
    return _result(code, normalized=normalized, address_code=address, birth_date=born, gender=gender)


def is_valid_id(value: str) -> bool:
    """True if :func:`check_id` accepts the value."""
    return _classify(value)[0] == "ok"


def normalize_id(value: str) -> str | None:
    """The canonical 18-character form of a valid number (15-digit upgraded), else None."""
    return check_id(value).normalized
