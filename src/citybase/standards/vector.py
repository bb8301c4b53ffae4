"""The validators over whole Arrow string arrays, with NumPy: millions of values per second.

Each ``*_facts`` function returns a :class:`Checked` whose ``valid`` is a NumPy bool array, True
where the value is valid; NULL gives False (the caller counts NULLs as missing). Values in the
common clean shape — the right number of ASCII characters — are decided on a byte matrix (one
row per character position), with the same rules in the same terms as the Python validator.
Every other value (blanks, full-width characters, 15-digit numbers, country prefixes …) is
handed to the Python validator itself, one by one, so the answer is the Python validator's for
every input (``tests/standards/test_standards_vector.py`` checks the two agree).

Whitespace inside a value always takes the Python path, which removes it; so does anything that
is not plain ASCII.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .division import all_division_codes, is_valid_division_code
from .formats import is_valid_mobile
from .idcard import _CHECK_CHARS, EXTRA_ADDRESS_CODES, ID_WEIGHTS, MIN_BIRTH_YEAR, check_id
from .uscc import USCC_CHARSET, USCC_WEIGHTS, is_valid_uscc

__all__ = ["CHECKS", "FORMS", "Checked", "check", "division_facts", "id_facts", "in_set", "mobile_facts",
           "uscc_facts"]

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


def _rest(arr: pa.Array, decided: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Positions and values of the non-NULL values outside the positions ``decided``."""
    rest = np.ones(len(arr), dtype=bool)
    rest[decided] = False
    if arr.null_count:
        rest &= arr.is_valid().to_numpy(zero_copy_only=False)
    idx = np.flatnonzero(rest)
    return idx, (arr.take(pa.array(idx)).to_pylist() if len(idx) else [])


def _python(arr: pa.Array, out: np.ndarray, decided: np.ndarray, check: Callable[[str], bool]) -> None:
    """Decide the values :func:`_rest` leaves with the Python validator ``check``."""
    idx, values = _rest(arr, decided)
    if len(idx):
        out[idx] = [check(v) for v in values]


def _number(digits: np.ndarray) -> np.ndarray:
    """Rows of decimal digits (k, n) → the n integers they spell (int32; k ≤ 9)."""
    out = digits[0].astype(np.int32)
    for row in digits[1:]:
        out = out * 10 + row
    return out


@lru_cache(maxsize=1)
def _address_table() -> np.ndarray:
    table = np.zeros(1_000_000, dtype=bool)
    table[np.array(sorted(int(c) for c in all_division_codes() | EXTRA_ADDRESS_CODES), dtype=np.int64)] = True
    return table


@lru_cache(maxsize=1)
def _division_table() -> np.ndarray:
    table = np.zeros(1_000_000, dtype=bool)
    table[np.array(sorted(int(c) for c in all_division_codes()), dtype=np.int64)] = True
    return table


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


def _id_clean(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, digits, last) of the 18-byte values whose first 17 bytes are ASCII digits and whose
    last is a digit, X or x — the shape the Python validator accepts without clean-up. ``digits``
    is (17, n): one contiguous row per position, so the arithmetic below runs on whole rows."""
    rows, m = _fixed(arr, 18)
    digits = np.ascontiguousarray(m[:, :17].T) - np.uint8(48)  # wraps above 9 for a non-digit
    last = m[:, 17]
    ok = (digits.max(axis=0) < 10) & ((last - np.uint8(48) < 10) | (last == 88) | (last == 120))
    if ok.all():
        return rows, digits, last
    return rows[ok], digits[:, ok], last[ok]


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


def id_facts(arr: pa.Array | pa.ChunkedArray, today: date | None = None) -> Checked:
    """``check_id`` over an array: validity, standard form ``[0-9]{17}[0-9X]`` as written, birth
    date and sex."""
    arr = _strings(arr)
    n = len(arr)
    valid, form = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    birth = np.zeros(n, dtype=np.int32)
    male = np.zeros(n, dtype=bool)
    rows, d, last = _id_clean(arr)
    y, mo, dd = _number(d[6:10]), _number(d[10:12]), _number(d[12:14])
    dates = _date_table(today or date.today())
    slot = (y - MIN_BIRTH_YEAR) * 1232 + mo * 100 + dd
    in_range = (y >= MIN_BIRTH_YEAR) & (slot < len(dates)) & (mo <= 12)
    date_ok = in_range & dates[np.where(in_range, slot, 0)]
    addr_ok = _address_table()[_number(d[:6])]
    total = (d.astype(np.int16) * _ID_W[:, None]).sum(axis=0, dtype=np.int16)  # ≤ 9 × 10 × 17
    check_ok = _CHECK[total % 11] == np.where(last == 120, np.uint8(88), last)
    valid[rows] = date_ok & addr_ok & check_ok
    form[rows] = last != 120
    # days since 1970-01-01 of (y, mo, dd), where the date is real (days_from_civil)
    yy = y - (mo <= 2)
    era = yy // 400
    yoe = yy - era * 400
    doy = (153 * (mo + np.where(mo > 2, -3, 9)) + 2) // 5 + dd - 1
    birth[rows] = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    male[rows] = d[16] % 2 == 1
    idx, values = _rest(arr, rows)
    if len(idx):
        epoch = date(1970, 1, 1)
        for i, v in zip(idx, values, strict=True):
            c = check_id(v)
            if c.valid and c.birth_date is not None:
                valid[i], birth[i], male[i] = True, (c.birth_date - epoch).days, c.gender == "M"
    return Checked(valid, form, birth, male)


def uscc_facts(arr: pa.Array | pa.ChunkedArray) -> Checked:
    """``is_valid_uscc`` over an array, and the standard form (18 characters of the set, upper
    case, digits in 3-8) as written. 18-byte values without blanks are decided here (lower case
    folded as the validator does); the rest by the validator."""
    arr = _strings(arr)
    n = len(arr)
    valid, form = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    rows, m = _fixed(arr, 18)
    mt = np.ascontiguousarray(m.T)
    v = _USCC_VAL[mt]
    form[rows] = (v.max(axis=0) < 31) & (v[2:8].max(axis=0) < 10)
    plain = (mt.min(axis=0) > 32) & (mt.max(axis=0) < 127)
    if not plain.all():
        rows, mt, v = rows[plain], mt[:, plain], v[:, plain]
    if (mt >= 97).any():  # lower case: fold, as the validator does
        mt = _UPPER[mt]
        v = _USCC_VAL[mt]
    shape = (v.max(axis=0) < 31) & (v[2:8].max(axis=0) < 10) & _USCC_FIRST[mt[0]]
    total = (np.minimum(v[:17], 30).astype(np.int16) * _USCC_W[:, None]).sum(axis=0, dtype=np.int16)  # ≤ 30 × 30 × 17
    valid[rows] = shape & ((31 - total % 31) % 31 == v[17])
    _python(arr, valid, rows, is_valid_uscc)
    return Checked(valid, form)


def _digits_only(arr: pa.Array | pa.ChunkedArray, width: int, decide: Callable[[np.ndarray], np.ndarray],
                 fallback: Callable[[str], bool]) -> Checked:
    """Values of exactly ``width`` ASCII digits are decided by ``decide`` on their digits, one row
    per position ((width, n) array); the rest by the Python validator ``fallback``."""
    arr = _strings(arr)
    out = np.zeros(len(arr), dtype=bool)
    rows, m = _fixed(arr, width)
    digits = np.ascontiguousarray(m.T) - np.uint8(48)
    plain = digits.max(axis=0) < 10
    rows = rows[plain]
    out[rows] = decide(digits[:, plain])
    _python(arr, out, rows, fallback)
    return Checked(out)


def mobile_facts(arr: pa.Array | pa.ChunkedArray) -> Checked:
    """``is_valid_mobile`` over an array: bare 11-digit numbers here, the rest by the validator."""
    return _digits_only(arr, 11, lambda d: (d[0] == 1) & (d[1] >= 3), is_valid_mobile)


def division_facts(arr: pa.Array | pa.ChunkedArray) -> Checked:
    """``is_valid_division_code`` over an array: 6-digit values here, the rest by the validator."""
    return _digits_only(arr, 6, lambda d: _division_table()[_number(d)], is_valid_division_code)


CHECKS: dict[str, Callable[[pa.Array | pa.ChunkedArray], Checked]] = {
    "cn_id_card": id_facts, "uscc": uscc_facts, "mobile": mobile_facts, "division_code": division_facts,
}
FORMS = frozenset({"cn_id_card", "uscc"})  # elements whose Checked carries ``form``


def check(element: str, arr: pa.Array | pa.ChunkedArray) -> Checked:
    """Check a data element (one of :data:`CHECKS`) over an array."""
    return CHECKS[element](arr)


def in_set(arr: pa.Array | pa.ChunkedArray, values: list[str]) -> np.ndarray:
    """True where the value is one of ``values`` (NULL gives False)."""
    return pc.fill_null(pc.is_in(_strings(arr), value_set=pa.array(values, pa.string())), False).to_numpy(
        zero_copy_only=False)
