"""The validators over whole Arrow string arrays, with NumPy: millions of values per second.

Each ``*_facts`` function returns a :class:`Checked` whose ``valid`` is a NumPy bool array, True
exactly where the Python validator says valid; NULL gives False (the caller counts NULLs as
missing). Values already in a clean shape — the right number of ASCII digits and letters — are
decided on a byte matrix (one row per character position). The others are first cleaned up the
way the Python validator cleans them (blanks removed, hyphens too for mobiles) with
Arrow's vectorised string functions, then decided the same way; whatever is still not in shape
is invalid, as it is for the validator. No value is decided one by one in Python, so messy
columns (every ID with a trailing blank, every mobile with hyphens) cost no more than clean ones.
``tests/standards/test_standards_vector.py`` checks the kernels against the validators.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._text import WS_CHARS
from .division import all_division_codes, subcounty_listed
from .formats import MOBILE_PATTERN
from .idcard import _CHECK_CHARS, ID_WEIGHTS, MIN_BIRTH_YEAR, _address_codes
from .uscc import USCC_CHARSET, USCC_WEIGHTS

__all__ = ["CHECKS", "FORMS", "Checked", "check", "division_facts", "id_facts", "mobile_facts", "uscc_facts"]

_ID_W = np.array(ID_WEIGHTS, dtype=np.int16)
_USCC_W = np.array(USCC_WEIGHTS, dtype=np.int16)
_CHECK = np.frombuffer(_CHECK_CHARS.encode(), dtype=np.uint8)

# USCC character values: index in the 31-character set, else 99 (I O Z S V and anything else).
_USCC_VAL = np.full(256, 99, dtype=np.uint8)
for _i, _c in enumerate(USCC_CHARSET):
    _USCC_VAL[ord(_c)] = _i
_USCC_FIRST = np.zeros(256, dtype=bool)  # registration department: 1-9, A, N, Y
for _c in "123456789ANY":
    _USCC_FIRST[ord(_c)] = True
_UPPER = np.arange(256, dtype=np.uint8)
_UPPER[ord("a"):ord("z") + 1] -= 32
_WS = "".join(f"\\x{{{ord(c):x}}}" for c in WS_CHARS)  # RE2 escapes of the blanks the validators remove


def _strings(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One plain ``string`` array (DuckDB may hand over chunks, views or large strings)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    return arr


def _fixed(arr: pa.Array, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, bytes): positions of the non-NULL values that are exactly ``width`` bytes long, and
    those values as an (n, width) uint8 matrix."""
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=n + 1, offset=arr.offset * 4)
    buf = arr.buffers()[2]
    data = np.frombuffer(buf, dtype=np.uint8) if buf is not None else np.zeros(0, dtype=np.uint8)
    sel = np.diff(offsets) == width
    if arr.null_count:
        sel &= arr.is_valid().to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(sel)
    if len(rows) == n and n and offsets[-1] - offsets[0] == n * width:
        return rows, data[offsets[0]:offsets[-1]].reshape(n, width)
    starts = offsets[:-1][rows]
    return rows, data[starts[:, None] + np.arange(width)]


def _rest(arr: pa.Array, decided: np.ndarray) -> np.ndarray:
    """Positions of the non-NULL values outside the positions ``decided``."""
    rest = np.ones(len(arr), dtype=bool)
    rest[decided] = False
    if arr.null_count:
        rest &= arr.is_valid().to_numpy(zero_copy_only=False)
    return np.flatnonzero(rest)


def _cleaned(arr: pa.Array, idx: np.ndarray, *, dash: bool = False) -> pa.Array:
    """The values at ``idx`` with the blanks the validators remove removed (and hyphens, with
    ``dash``). Case is left alone: the kernels read x as X and fold credit codes themselves."""
    return pc.replace_substring_regex(arr.take(pa.array(idx)), f"[{_WS}{'-' if dash else ''}]", "")


def _number(digits: np.ndarray) -> np.ndarray:
    """Rows of decimal digits (k, n) → the n integers they spell (int32; k ≤ 9)."""
    out = digits[0].astype(np.int32)
    for row in digits[1:]:
        out = out * 10 + row
    return out


def _code_table(codes: frozenset[str]) -> np.ndarray:
    """Six-digit codes as a lookup table: True at each code's value."""
    table = np.zeros(1_000_000, dtype=bool)
    table[np.fromiter((int(c) for c in codes), dtype=np.int64, count=len(codes))] = True
    return table


@lru_cache(maxsize=1)
def _address_table() -> np.ndarray:
    """Address codes an ID number may carry: the validator's own set."""
    return _code_table(_address_codes())


@lru_cache(maxsize=1)
def _division_table() -> np.ndarray:
    return _code_table(all_division_codes())


@lru_cache(maxsize=4)
def _date_table(today: date) -> np.ndarray:
    """Real dates from 1 Jan 1900 to ``today``, at ``(year - 1900) * 1232 + mmdd``."""
    days = np.arange(np.datetime64(f"{MIN_BIRTH_YEAR:04d}-01-01"), np.datetime64(today.isoformat()) + 1)
    y = days.astype("datetime64[Y]").astype(np.int64) + 1970
    m = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
    table = np.zeros((today.year - MIN_BIRTH_YEAR + 1) * 1232, dtype=bool)
    table[(y - MIN_BIRTH_YEAR) * 1232 + m * 100 + d] = True
    return table


@dataclass
class Checked:
    """A data element checked over an array: ``valid`` as the Python validator says; ``form``
    whether the value is written in the standard form (ID numbers and credit codes); for ID
    numbers also ``birth`` (days since 1970-01-01) and ``male`` (sex digit odd), both meaningful
    only where ``valid``."""

    valid: np.ndarray
    form: np.ndarray | None = None
    birth: np.ndarray | None = None
    male: np.ndarray | None = None


def _digit_rows(arr: pa.Array, width: int, lead: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, digits, last) of the ``width``-byte values whose first ``lead`` (default: all)
    bytes are ASCII digits; ``digits`` is (lead, n), one contiguous row per position, so the
    arithmetic runs on whole rows; ``last`` is the byte after them (or an empty array)."""
    lead = width if lead is None else lead
    rows, m = _fixed(arr, width)
    digits = np.ascontiguousarray(m[:, :lead].T) - np.uint8(48)  # wraps above 9 for a non-digit
    ok = digits.max(axis=0, initial=0) < 10
    last = m[:, lead] if lead < width else np.zeros(0, dtype=np.uint8)
    if lead < width:
        ok &= (last - np.uint8(48) < 10) | (last == 88) | (last == 120)
    if ok.all():
        return rows, digits, last
    return rows[ok], digits[:, ok], (last[ok] if lead < width else last)


def _person(address: np.ndarray, y: np.ndarray, mo: np.ndarray, dd: np.ndarray,
            today: date) -> tuple[np.ndarray, np.ndarray]:
    """(address code ever existed and birth date real, from 1900 to today; birth in days since
    1970-01-01, meaningful where the date is real)."""
    dates = _date_table(today)
    slot = (y - MIN_BIRTH_YEAR) * 1232 + mo * 100 + dd
    in_range = (y >= MIN_BIRTH_YEAR) & (slot < len(dates)) & (mo <= 12)
    ok = in_range & dates[np.where(in_range, slot, 0)] & _address_table()[address]
    yy = y - (mo <= 2)  # days_from_civil
    era = yy // 400
    yoe = yy - era * 400
    doy = (153 * (mo + np.where(mo > 2, -3, 9)) + 2) // 5 + dd - 1
    return ok, era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def _id_decide(arr: pa.Array, today: date, out: Checked, at: np.ndarray | None = None) -> np.ndarray:
    """Decide the 18-character numbers (17 digits, then a digit, X or x) and the 15-digit legacy
    ones in ``arr`` into ``out`` (at positions ``at[i]`` for value i; without ``at``, ``arr`` is
    the values as written, and their standard form is recorded too); returns the positions in
    ``arr`` it decided."""
    rows, d, last = _digit_rows(arr, 18, 17)
    if at is None:
        out.form[rows] = last != 120
    ok, birth = _person(_number(d[:6]), _number(d[6:10]), _number(d[10:12]), _number(d[12:14]), today)
    total = (d.astype(np.int16) * _ID_W[:, None]).sum(axis=0, dtype=np.int16)  # ≤ 9 × 10 × 17
    ok &= _CHECK[total % 11] == np.where(last == 120, np.uint8(88), last)
    rows15, d15, _ = _digit_rows(arr, 15)  # legacy: no check character, born 19yy
    ok15, birth15 = _person(_number(d15[:6]), 1900 + _number(d15[6:8]), _number(d15[8:10]),
                            _number(d15[10:12]), today)
    for r, good, days, sex in ((rows, ok, birth, d[16]), (rows15, ok15, birth15, d15[14])):
        pos = r if at is None else at[r]
        out.valid[pos] = good
        out.birth[pos] = days
        out.male[pos] = sex % 2 == 1
    return np.concatenate([rows, rows15])


def id_facts(arr: pa.Array | pa.ChunkedArray, today: date | None = None) -> Checked:
    """``check_id`` over an array: validity, standard form ``[0-9]{17}[0-9X]`` as written, birth
    date and sex."""
    arr = _strings(arr)
    n = len(arr)
    today = today or date.today()
    out = Checked(np.zeros(n, dtype=bool), np.zeros(n, dtype=bool), np.zeros(n, dtype=np.int32),
                  np.zeros(n, dtype=bool))
    idx = _rest(arr, _id_decide(arr, today, out))
    if len(idx):  # blanks removed (x is read as X anyway); what is still not in shape is invalid
        _id_decide(_cleaned(arr, idx), today, out, at=idx)
    return out


def _uscc_decide(arr: pa.Array, out: np.ndarray, at: np.ndarray | None = None,
                 form: np.ndarray | None = None) -> np.ndarray:
    """Decide the 18-byte printable-ASCII values of ``arr`` (lower case folded, as the validator
    does) into ``out`` (at ``at[i]`` for value i); with ``form``, also record which values are
    written in the standard form. Returns the positions in ``arr`` it decided."""
    rows, m = _fixed(arr, 18)
    mt = np.ascontiguousarray(m.T)
    v = _USCC_VAL[mt]
    if form is not None:  # 18 characters of the set, upper case, digits in 3-8
        form[rows] = (v.max(axis=0, initial=0) < 31) & (v[2:8].max(axis=0, initial=0) < 10)
    plain = (mt.min(axis=0, initial=255) > 32) & (mt.max(axis=0, initial=0) < 127)
    if not plain.all():
        rows, mt, v = rows[plain], mt[:, plain], v[:, plain]
    if (mt >= 97).any():  # lower case: folded as the validator does
        mt = _UPPER[mt]
        v = _USCC_VAL[mt]
    shape = (v.max(axis=0, initial=0) < 31) & (v[2:8].max(axis=0, initial=0) < 10) & _USCC_FIRST[mt[0]]
    total = (np.minimum(v[:17], 30).astype(np.int16) * _USCC_W[:, None]).sum(axis=0, dtype=np.int16)  # ≤ 30 × 30 × 17
    out[rows if at is None else at[rows]] = shape & ((31 - total % 31) % 31 == v[17])
    return rows


def uscc_facts(arr: pa.Array | pa.ChunkedArray) -> Checked:
    """``is_valid_uscc`` over an array, and the standard form as written."""
    arr = _strings(arr)
    n = len(arr)
    valid, form = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    idx = _rest(arr, _uscc_decide(arr, valid, form=form))
    if len(idx):  # blanks removed; what is still not 18 plain characters is invalid
        _uscc_decide(_cleaned(arr, idx), valid, at=idx)
    return Checked(valid, form)


def mobile_facts(arr: pa.Array | pa.ChunkedArray) -> Checked:
    """``is_valid_mobile`` over an array: 11 digits decided on their digits; the others by the
    validator's own pattern over the cleaned-up values (blanks and hyphens removed)."""
    arr = _strings(arr)
    out = np.zeros(len(arr), dtype=bool)
    rows, d, _ = _digit_rows(arr, 11)
    out[rows] = (d[0] == 1) & (d[1] >= 3)
    idx = _rest(arr, rows)
    if len(idx):
        ok = pc.match_substring_regex(_cleaned(arr, idx, dash=True), f"^(?:{MOBILE_PATTERN})$")
        out[idx] = ok.to_numpy(zero_copy_only=False)
    return Checked(out)


def division_facts(arr: pa.Array | pa.ChunkedArray) -> Checked:
    """``is_valid_division_code`` over an array: values of 6, 9 or 12 digits (after blanks are
    removed) looked up at their level — 6 in the table of every GB/T 2260 code that ever existed,
    9 and 12 (zero padding read as the level above) in the sorted statistical codes."""
    arr = _strings(arr)
    out = np.zeros(len(arr), dtype=bool)
    idx = _rest(arr, _division_decide(arr, out))
    if len(idx):
        _division_decide(_cleaned(arr, idx), out, at=idx)
    return Checked(out)


def _division_decide(arr: pa.Array, out: np.ndarray, at: np.ndarray | None = None) -> np.ndarray:
    """Decide the all-digit values of 6, 9 and 12 bytes into ``out`` (at ``at[i]`` for value i);
    returns the positions in ``arr`` it decided."""
    decided = []
    for width in (6, 9, 12):
        rows, d, _ = _digit_rows(arr, width)
        if not len(rows):
            continue
        code = _number(d[:6]).astype(np.int64)
        if width == 6:
            ok = _division_table()[code]
        else:
            for part in (d[6:9], d[9:]):
                if len(part):
                    code = code * 1000 + _number(part)
            ok = _levels(code, width)
        out[rows if at is None else at[rows]] = ok
        decided.append(rows)
    return np.concatenate(decided) if decided else np.zeros(0, dtype=np.intp)


def _levels(code: np.ndarray, width: int) -> np.ndarray:
    """Statistical codes of ``width`` digits (9 or 12) looked up at the level their zero padding
    names: ``xxxxxx000000`` → the 6-digit code, ``xxxxxxxxx000`` → the 9-digit one."""
    if width == 9:
        return subcounty_listed(code, 9)
    ok = np.zeros(len(code), dtype=bool)
    county = code % 1_000_000 == 0
    ok[county] = _division_table()[code[county] // 1_000_000]
    street = ~county & (code % 1000 == 0)
    ok[street] = subcounty_listed(code[street] // 1000, 9)
    rest = ~county & ~street
    if rest.any():
        ok[rest] = subcounty_listed(code[rest], 12)
    return ok


CHECKS: dict[str, Callable[[pa.Array | pa.ChunkedArray], Checked]] = {
    "cn_id_card": id_facts, "uscc": uscc_facts, "mobile": mobile_facts, "division_code": division_facts,
}
FORMS = frozenset({"cn_id_card", "uscc"})  # elements whose Checked carries ``form``


def check(element: str, arr: pa.Array | pa.ChunkedArray) -> Checked:
    """Check a data element (one of :data:`CHECKS`) over an array."""
    return CHECKS[element](arr)

