"""DuckDB SQL macros that mirror the Python validators and maskers exactly.

:func:`register_macros` creates, in the connection's temporary catalog, the lookup tables and
the macros listed in :data:`MACRO_NAMES`.  It works on a fresh in-memory connection and may
be called any number of times.

Conventions
-----------
* Validators return NULL for NULL input (SQL three-valued logic); for every non-NULL input
  they return exactly what the Python function returns.  ``coalesce(cb_id_valid(x), false)``
  equals ``is_valid_id(x)`` for all x including None.
* Reason macros return the same stable codes as ``IdCheck.code`` / ``UsccCheck.code``
  ('empty' for NULL, like the Python functions for None).
* Masking macros return NULL for NULL and the same string as the Python maskers otherwise.

How ``cb_id_valid`` reaches millions of rows per second
-------------------------------------------------------
* No regular expression and no per-character work on the common path: the first 17
  characters are cast to BIGINT once; a range check plus guards against exponent and hex
  syntax prove they were digits (see :func:`_id_direct`).  Spaces are removed and legacy
  15-digit numbers are rewritten to the 18-character layout first, by one CASE that only
  does string work for rows containing a space or of length 15.
* Arithmetic on DOUBLE (exact below 2**53), written without CASE/AND/OR, so DuckDB's common-
  subexpression elimination evaluates the cast once per row.  A plain SQL ``let`` does not
  exist; lambdas would bind values but run several times slower.
* Three small bitmaps (temporary table ``__cb_std_bitmaps``, about 480 KB) replace date
  arithmetic and the address lookup: address ever existed; date real; and "date real and
  its digits leave the residue the rest of the number needs", which checks the ISO 7064
  MOD 11-2 check character without a per-digit loop.
* Rows the direct path cannot decide (blanks other than spaces, leading zero, garbage) are
  handled lazily inside ``coalesce``/CASE, rule by rule.

Use the macros in a SELECT list or an aggregate (``count(*) FILTER (WHERE cb_id_valid(x))``,
``count_if``): DuckDB does not eliminate common subexpressions in a WHERE clause, where
``cb_id_valid`` is several times slower (still correct).  To select rows, compute the flag in
a subquery or table first.

Dates: "not in the future" uses DuckDB's ``current_date``, Python uses ``date.today()``; the
two agree unless the session time zones differ around midnight.
"""

from __future__ import annotations

from calendar import monthrange
from functools import lru_cache

import duckdb
import numpy as np
import pyarrow as pa

from ._text import WS_CHARS
from .division import all_division_codes, subcounty_codes
from .enums import DataElement
from .formats import MOBILE_PATTERN, POSTCODE_PATTERN
from .idcard import EXTRA_ADDRESS_CODES, ID_WEIGHTS
from .masking import ADDRESS_PREFIX_PATTERN
from .orgcode import ORG_CODE_WEIGHTS
from .uscc import USCC_CHARSET, USCC_WEIGHTS

__all__ = ["MACRO_NAMES", "VALIDATOR_SQL", "quote_ident", "quote_literal", "register_macros", "register_mask_macros", "validator_sql"]

_DIV_TABLE = "temp.main.__cb_std_division_codes"
_BITMAP_TABLE = "temp.main.__cb_std_bitmaps"
_BM_ADDR = f"(SELECT id_address FROM {_BITMAP_TABLE})"
_BM_DATE_VALID = f"(SELECT date_valid FROM {_BITMAP_TABLE})"
_BM_DATE_RES = f"(SELECT date_residue FROM {_BITMAP_TABLE})"

MACRO_NAMES: tuple[str, ...] = (
    "cb_id_valid",
    "cb_id_reason",
    "cb_id_normalize",
    "cb_uscc_valid",
    "cb_uscc_reason",
    "cb_org_code_valid",
    "cb_mobile_valid",
    "cb_mobile_normalize",
    "cb_postcode_valid",
    "cb_division_valid",
    "cb_date_valid",
    "cb_mask_generic",
    "cb_mask_name",
    "cb_mask_id",
    "cb_mask_mobile",
    "cb_mask_bank_card",
    "cb_mask_address",
    "cb_mask_email",
    "cb_mask_plate",
    "cb_mask_hidden",
    "cb_mask_value",
)

VALIDATOR_SQL: dict[DataElement, str] = {
    DataElement.CN_ID_CARD: "cb_id_valid({col})",
    DataElement.USCC: "cb_uscc_valid({col})",
    DataElement.ORG_CODE: "cb_org_code_valid({col})",
    DataElement.MOBILE: "cb_mobile_valid({col})",
    DataElement.DIVISION_CODE: "cb_division_valid({col})",
    DataElement.POSTCODE: "cb_postcode_valid({col})",
    DataElement.DATE: "cb_date_valid({col})",
    # {values} is a SQL list of allowed strings, e.g. ['A', 'B'] (see validator_sql()).
    DataElement.ENUM: "CASE WHEN {col} IS NULL THEN NULL ELSE list_contains({values}, CAST({col} AS VARCHAR)) END",
    DataElement.TEXT: "CASE WHEN {col} IS NULL THEN NULL ELSE true END",
}


def quote_ident(name: str) -> str:
    """A column or table name as a quoted SQL identifier (DuckDB and PostgreSQL): ``a"b`` → ``"a""b"``."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(s: str) -> str:
    """A text as an SQL string literal: ``it's`` → ``'it''s'``."""
    return "'" + s.replace("'", "''") + "'"


_lit = quote_literal


def validator_sql(element: DataElement | str, col: str, values: list[str] | None = None) -> str:
    """Boolean SQL for ``col`` (already-quoted identifier or expression); ENUM needs ``values``."""
    element = DataElement(element)
    template = VALIDATOR_SQL[element]
    if element is DataElement.ENUM:
        if values is None:
            raise ValueError("枚举型数据元需要提供取值列表")
        return template.format(col=col, values="[" + ", ".join(_lit(str(v)) for v in values) + "]::VARCHAR[]")
    return template.format(col=col)


def _lambda(param: str, body: str) -> str:
    """``lambda p: body`` on DuckDB >= 1.3 (arrow syntax is deprecated there), else ``p -> body``."""
    if _NEW_LAMBDA:
        return f"lambda {param}: {body}"
    return f"{param} -> {body}"


def _duckdb_version() -> tuple[int, int]:
    parts = duckdb.__version__.split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (ValueError, IndexError):
        return (1, 3)


_NEW_LAMBDA = _duckdb_version() >= (1, 3)


def _let(value: str, param: str, body: str) -> str:
    """Bind ``value`` to ``param`` once (a one-element list_transform) and evaluate ``body``."""
    return f"list_transform([{value}], {_lambda(param, body)})[1]"


def _gsum(var: str, ndigits: int) -> str:
    """SQL (DOUBLE) for sum(d_j * 2**j) over the decimal digits of the non-negative integer ``var``.

    Uses sum(d_j 2^j) = v - sum_{t>=1} 2^(t+2) * floor(v / 10^t); exact while v < 2**53.
    """
    terms = " + ".join(f"{2 ** (t + 2)} * floor({var} / 1e{t})" for t in range(1, ndigits))
    return f"({var} - ({terms}))"


_TODAY = "CAST(strftime(current_date, '%Y%m%d') AS INTEGER)"
_WS_CLASS = "[" + WS_CHARS + "]"
_NOWS = "regexp_replace(CAST({x} AS VARCHAR), " + _lit(_WS_CLASS) + ", '', 'g')"
_NOWS_DASH = "regexp_replace(CAST({x} AS VARCHAR), " + _lit("[" + WS_CHARS + "-]") + ", '', 'g')"
_TRIM = "trim(CAST({x} AS VARCHAR), " + _lit(WS_CHARS) + ")"
_UPPER = "translate({x}, 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')"


def _i(cond: str) -> str:
    return f"CAST({cond} AS INTEGER)"


# Date slots: (year - 1900) * 1232 + mmdd for years 1900-2100 (mmdd <= 1231, so no aliasing).
_DATE_SLOTS = 201 * 1232
# Bit 1 of the residue bitmap is always set: "no check character" (legacy 15-digit numbers).
_ALWAYS = 1


def _date_slot(d: str, gate: str) -> tuple[str, str]:
    """(slot, 0/1 guard) for DOUBLE yyyymmdd ``d``; the guard rejects dates before 1900-01-01,
    after today, or with mmdd > 1231 (which would alias into the next year)."""
    y = f"floor({d} / 1e4)"
    slot = f"({d} - 8768 * {y} - 2340800)"  # (y - 1900) * 1232 + (d - 1e4 * y)
    guard = "(" + " * ".join(
        [_i(f"{d} >= 19000101"), _i(f"{d} <= {_TODAY}"), _i(f"{d} - 1e4 * {y} <= 1231"), gate]
    ) + ")"
    return slot, guard


def _residue(h: str, seq: str, c: str) -> str:
    """r = (1 - 4 g(H) - 2 g(S) - c) mod 11, the value 5 g(D) mod 11 must take (DOUBLE)."""
    return f"((2410 - 4 * {_gsum(h, 6)} - 2 * {_gsum(seq, 3)} - {c}) % 11)"


def _id_base(xs: str) -> str:
    """The string the direct path checks: ``xs`` itself, except that strings containing ASCII
    spaces lose them and legacy 15-digit numbers become 17 digits + ' ' ('19' inserted; the
    space marks "no check character" and cannot come from the input, whose spaces are gone)."""
    return (
        f"(CASE WHEN strlen({xs}) = 15 OR contains({xs}, ' ') "
        f"THEN regexp_replace(replace({xs}, ' ', ''), '^([1-9][0-9]{{5}})([0-9]{{9}})$', '\\119\\2 ') "
        f"ELSE {xs} END)"
    )


def _id_direct(b: str) -> dict[str, str]:
    """0/1 SQL expressions deciding an identity number given as the base string ``b``.

    No regular expression and no CASE/AND/OR around the heavy parts: DuckDB's common-
    subexpression elimination (which does not look inside CASE or conjunctions) then computes
    the base and its BIGINT cast once per row.

    Shape: V = BIGINT of the first 17 characters.  ``strlen = 18``, V >= 1e16, a first
    character >= '1' (no hex prefix), no 'e'/'E' (exponent syntax) and a last character in
    0-9/X/x/' ' prove the shape: signs, blanks, dots or underscores would leave fewer than
    17 digits.  ``gate`` is 1 exactly then (else 0 or NULL); the other bits count only then.

    Check: with H = address (6 digits), D = birth date (8), S = sequence (3) and c = check
    value, ISO 7064 MOD 11-2 requires 4 g(H) + 5 g(D) + 2 g(S) + c = 1 (mod 11), where
    g = sum digit_j * 2**j.  The residue bitmap has bit slot(D) * 11 + r set when D is a real
    date and 5 g(D) mod 11 = r, so one lookup with r = (1 - 4 g(H) - 2 g(S) - c) mod 11 checks
    the check character.  Arithmetic is DOUBLE, exact below 2**53.
    """
    v = f"TRY_CAST(left({b}, 17) AS BIGINT)"
    c = f"(strpos('0123456789Xx ', right({b}, 1)) - 1)"
    gate = "(" + " * ".join(
        [
            _i(f"strlen({b}) = 18"),
            _i(f"{c} >= 0"),
            _i(f"{v} >= 10000000000000000"),
            _i(f"{b} >= '1'"),
            _i(f"NOT contains({b}, 'e')"),
            _i(f"NOT contains({b}, 'E')"),
        ]
    ) + ")"
    no_check = _i(f"{c} = 12")
    c_val = f"({c} - {_i(f'{c} = 11')})"
    h = f"CAST({v} // 100000000000 AS DOUBLE)"
    d = f"CAST({v} // 1000 % 100000000 AS DOUBLE)"
    seq = f"CAST({v} % 1000 AS DOUBLE)"
    slot, guard = _date_slot(d, gate)
    res_idx = f"CAST(({slot} * 11 + {_residue(h, seq, c_val)}) * {guard} AS INTEGER)"
    return {
        "gate": gate,
        "addr": f"get_bit({_BM_ADDR}, CAST(({h} - 100000) * {gate} AS INTEGER))",
        "date": f"get_bit({_BM_DATE_VALID}, CAST({slot} * {guard} AS INTEGER))",
        "check": f"({no_check} + (1 - {no_check}) * get_bit({_BM_DATE_RES}, {res_idx}))",
    }


_REASONS = "['ok', 'checksum', 'address_code', 'birth_date']"


def _reason_index(b: dict[str, str]) -> str:
    """1 ok, 2 checksum, 3 address_code, 4 birth_date (first failing rule wins)."""
    a, d, k = b["addr"], b["date"], b["check"]
    return f"(1 + 3 * (1 - {d}) + 2 * {d} * (1 - {a}) + {d} * {a} * (1 - {k}))"


def _direct_valid(b: str) -> str:
    p = _id_direct(b)
    return f"[{p['addr']} * {p['date']} * {p['check']} = 1][{p['gate']}]"


def _direct_reason(b: str) -> str:
    p = _id_direct(b)
    return f"{_REASONS}[{_reason_index(p)} * {p['gate']}]"


# Blanks other than the ASCII space (tab, CR, LF, FF, VT, NBSP, U+3000, U+200B, U+FEFF).
_OTHER_WS_CLASS = "[" + WS_CHARS.replace(" ", "") + "]"


def _normalized(xs: str) -> str:
    return "replace(" + _NOWS.format(x=xs) + ", 'x', 'X')"


def _slow_reason(n: str) -> str:
    """Reason code for a normalised string ``n`` (blanks removed, x -> X), rule by rule.

    Used only for the rare rows the direct path cannot decide, so it favours compact SQL over
    speed: ``n`` is recomputed wherever it appears (the CASE keeps that lazy)."""
    body = f"(CASE WHEN length({n}) = 15 THEN left({n}, 6) || '19' || substr({n}, 7) ELSE left({n}, 17) END)"
    d = f"CAST(substr({body}, 7, 8) AS DOUBLE)"
    slot, guard = _date_slot(d, "1")
    date_ok = f"get_bit({_BM_DATE_VALID}, CAST({slot} * {guard} AS INTEGER)) = 1"
    addr = f"CAST(left({n}, 6) AS INTEGER)"
    addr_ok = f"get_bit({_BM_ADDR}, greatest({addr} - 100000, 0)) = 1"
    total = " + ".join(f"(ascii(substr({n}, {i + 1}, 1)) - 48) * {w}" for i, w in enumerate(ID_WEIGHTS))
    check = f"substr('10X98765432', ({total}) % 11 + 1, 1)"
    return (
        f"(CASE WHEN {n} = '' THEN 'empty' "
        f"WHEN NOT regexp_full_match({n}, '[0-9]{{17}}[0-9X]|[0-9]{{15}}') THEN 'shape' "
        f"WHEN NOT ({date_ok}) THEN 'birth_date' "
        f"WHEN NOT ({addr_ok}) THEN 'address_code' "
        f"WHEN length({n}) = 18 AND {check} <> right({n}, 1) THEN 'checksum' ELSE 'ok' END)"
    )


def _id_valid(x: str) -> str:
    """Direct path on the base string.  Rows it rejects are invalid unless they contain blanks
    other than spaces; those (rare) are normalised and checked rule by rule."""
    xs = f"CAST({x} AS VARCHAR)"
    return (
        f"coalesce({_direct_valid(_id_base(xs))}, (CASE WHEN {x} IS NULL THEN NULL "
        f"WHEN regexp_matches({xs}, {_lit(_OTHER_WS_CLASS)}) THEN {_slow_reason(_normalized(xs))} = 'ok' "
        "ELSE false END))"
    )


def _id_reason(x: str) -> str:
    """Direct path on the base string; rows it rejects: blanks other than spaces rule by rule,
    else 'empty', a leading zero (address never valid: 'birth_date' or 'address_code'), or
    'shape'."""
    xs = f"CAST({x} AS VARCHAR)"
    b = _id_base(xs)
    d = f"CAST(CASE WHEN strlen({b}) = 15 THEN '19' || substr({b}, 7, 6) ELSE substr({b}, 7, 8) END AS DOUBLE)"
    slot, guard = _date_slot(d, "1")
    lz_reason = (
        f"CASE WHEN get_bit({_BM_DATE_VALID}, CAST({slot} * {guard} AS INTEGER)) = 1 "
        "THEN 'address_code' ELSE 'birth_date' END"
    )
    return (
        f"coalesce({_direct_reason(b)}, (CASE WHEN {x} IS NULL THEN 'empty' "
        f"WHEN regexp_matches({xs}, {_lit(_OTHER_WS_CLASS)}) THEN {_slow_reason(_normalized(xs))} "
        f"WHEN {b} = '' THEN 'empty' "
        f"WHEN regexp_full_match({b}, '0[0-9]{{16}}[0-9Xx]|0[0-9]{{14}}') THEN {lz_reason} "
        "ELSE 'shape' END))"
    )


def _id_normalize(x: str) -> str:
    """18-character form of a number already known to be valid."""
    norm = "replace(" + _NOWS.format(x=x) + ", 'x', 'X')"
    parts = (
        "{'s': s, 'h': CAST(left(s, 6) AS DOUBLE), 'm': CAST('19' || substr(s, 7, 9) AS DOUBLE)}"
    )
    check = f"substr('10X98765432', CAST((4 * {_gsum('q.h', 6)} + 2 * {_gsum('q.m', 11)}) % 11 AS INTEGER) + 1, 1)"
    upgraded = _let(parts, "q", f"left(q.s, 6) || '19' || substr(q.s, 7) || {check}")
    return _let(norm, "s", f"CASE WHEN length(s) = 18 THEN s ELSE {upgraded} END")


def _uscc_reason(x: str) -> str:
    c = "0-9A-HJ-NPQRTUWXY"
    shape = f"[1-9ANY][{c}][0-9]{{6}}[{c}]{{10}}"
    terms = " + ".join(
        f"(strpos('{USCC_CHARSET}', substr(s, {i + 1}, 1)) - 1) * {w}" for i, w in enumerate(USCC_WEIGHTS)
    )
    check = f"substr('{USCC_CHARSET}', CAST((31 - ({terms}) % 31) % 31 AS INTEGER) + 1, 1)"
    body = (
        "CASE WHEN s = '' THEN 'empty' "
        f"WHEN NOT regexp_full_match(s, '{shape}') THEN 'shape' "
        f"WHEN {check} <> right(s, 1) THEN 'checksum' ELSE 'ok' END"
    )
    return _let(_UPPER.format(x=_NOWS.format(x=x)), "s", body)


def _org_code_valid(x: str) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    terms = " + ".join(
        f"(strpos('{alphabet}', substr(s, {i + 1}, 1)) - 1) * {w}" for i, w in enumerate(ORG_CODE_WEIGHTS)
    )
    c = f"(11 - ({terms}) % 11)"
    check = f"(CASE {c} WHEN 10 THEN 'X' WHEN 11 THEN '0' ELSE CAST({c} AS VARCHAR) END)"
    body = f"regexp_full_match(s, '[0-9A-Z]{{8}}-?[0-9X]') AND {check} = right(s, 1)"
    return _let(_UPPER.format(x=_NOWS.format(x=x)), "s", f"coalesce({body}, false)")


def _generic(s: str) -> str:
    return (
        f"(CASE WHEN length({s}) <= 1 THEN repeat('*', length({s})) "
        f"WHEN length({s}) = 2 THEN left({s}, 1) || '*' "
        f"ELSE left({s}, 1) || repeat('*', length({s}) - 2) || right({s}, 1) END)"
    )


def _keep(s: str, head: int, tail: int) -> str:
    return (
        f"(CASE WHEN length({s}) <= {head + tail} THEN {_generic(s)} "
        f"ELSE left({s}, {head}) || repeat('*', length({s}) - {head + tail}) || right({s}, {tail}) END)"
    )


def _null_guard(x: str, expr: str) -> str:
    return f"(CASE WHEN {x} IS NULL THEN NULL ELSE {expr} END)"


def _macro_bodies() -> dict[str, tuple[str, str]]:
    """name -> (parameter list, body)."""
    x = "x"
    mobile_core = f"regexp_full_match(s, {_lit(MOBILE_PATTERN)})"
    email_body = (
        "CASE WHEN strpos(s, '@') <= 1 THEN " + _generic("s") + " "
        "WHEN strpos(s, '@') = 2 THEN '*' || substr(s, 2) "
        "ELSE left(s, 1) || repeat('*', strpos(s, '@') - 2) || substr(s, strpos(s, '@')) END"
    )
    address_body = _let(
        f"regexp_extract(s, {_lit(ADDRESS_PREFIX_PATTERN)}, 0)",
        "p",
        "CASE WHEN p = '' AND length(s) <= 1 THEN repeat('*', length(s)) "
        "WHEN p = '' THEN left(s, 1) || repeat('*', length(s) - 1) "
        "ELSE p || repeat('*', length(s) - length(p)) END",
    )
    date_digits = (
        "CASE WHEN regexp_full_match(s, '[0-9]{4}-[0-9]{2}-[0-9]{2}') THEN CAST(replace(s, '-', '') AS DOUBLE) "
        "WHEN regexp_full_match(s, '[0-9]{8}') THEN CAST(s AS DOUBLE) END"
    )
    date_valid = _let(
        date_digits,
        "d",
        "coalesce(d >= 10101 AND (floor(d / 1e2) - 100 * floor(d / 1e4)) BETWEEN 1 AND 12 "
        "AND (d - 100 * floor(d / 1e2)) >= 1 AND (d - 100 * floor(d / 1e2)) <= "
        "(CASE WHEN (floor(d / 1e2) - 100 * floor(d / 1e4)) = 2 THEN (CASE WHEN (floor(d / 1e4) % 4 = 0 "
        "AND floor(d / 1e4) % 100 <> 0) OR floor(d / 1e4) % 400 = 0 THEN 29 ELSE 28 END) "
        "ELSE 30 + ((floor(d / 1e2) - 100 * floor(d / 1e4)) + floor((floor(d / 1e2) - 100 * floor(d / 1e4)) / 8)) % 2 END), "
        "false)",
    )
    bodies = {
        "cb_id_valid": ("x", _id_valid("x")),
        "cb_id_reason": ("x", _id_reason("x")),
        "cb_id_normalize": (
            "x",
            f"(CASE WHEN coalesce(cb_id_valid(x), false) THEN {_id_normalize('x')} END)",
        ),
        "cb_uscc_reason": ("x", f"(CASE WHEN x IS NULL THEN 'empty' ELSE {_uscc_reason('x')} END)"),
        "cb_uscc_valid": ("x", _null_guard(x, f"{_uscc_reason('x')} = 'ok'")),
        "cb_org_code_valid": ("x", _null_guard(x, _org_code_valid("x"))),
        "cb_mobile_valid": ("x", _null_guard(x, _let(_NOWS_DASH.format(x=x), "s", mobile_core))),
        "cb_mobile_normalize": (
            "x",
            _null_guard(x, _let(_NOWS_DASH.format(x=x), "s", f"CASE WHEN {mobile_core} THEN right(s, 11) END")),
        ),
        "cb_postcode_valid": (
            "x",
            _null_guard(x, f"regexp_full_match({_NOWS.format(x=x)}, {_lit(POSTCODE_PATTERN)})"),
        ),
        "cb_division_valid": (  # 6, 9 or 12 digits; 12 with zero padding is read as the level above
            "x",
            _null_guard(x, "coalesce(" + _let(_NOWS.format(x=x), "s", (
                "CASE WHEN regexp_full_match(s, '[1-9][0-9]{5}([0-9]{3}){0,2}') THEN CAST(CASE "
                "WHEN length(s) = 12 AND s[7:] = '000000' THEN s[:6] WHEN length(s) = 12 AND s[10:] = '000' "
                "THEN s[:9] ELSE s END AS BIGINT) END")) + f" IN (SELECT code FROM {_DIV_TABLE}), false)"),
        ),
        "cb_date_valid": ("x", _null_guard(x, _let(_NOWS.format(x=x), "s", date_valid))),
        "cb_mask_generic": ("x", _null_guard(x, _let("CAST(x AS VARCHAR)", "s", _generic("s")))),
        "cb_mask_name": (
            "x",
            _null_guard(
                x,
                _let(
                    _TRIM.format(x=x),
                    "s",
                    "CASE WHEN length(s) <= 1 THEN repeat('*', length(s)) "
                    "ELSE left(s, 1) || repeat('*', length(s) - 1) END",
                ),
            ),
        ),
        "cb_mask_id": ("x", _null_guard(x, _let(_NOWS.format(x=x), "s", _keep("s", 6, 4)))),
        "cb_mask_mobile": (
            "x",
            _null_guard(
                x,
                _let(
                    _NOWS_DASH.format(x=x),
                    "s0",
                    _let(f"CASE WHEN {mobile_core.replace('(s,', '(s0,')} THEN right(s0, 11) ELSE s0 END", "s",
                         _keep("s", 3, 4)),
                ),
            ),
        ),
        "cb_mask_bank_card": ("x", _null_guard(x, _let(_NOWS_DASH.format(x=x), "s", _keep("s", 6, 4)))),
        "cb_mask_email": ("x", _null_guard(x, _let(_TRIM.format(x=x), "s", email_body))),
        "cb_mask_plate": (
            "x",
            _null_guard(
                x,
                _let(
                    "regexp_replace(CAST(x AS VARCHAR), " + _lit("[" + WS_CHARS + "·-]") + ", '', 'g')",
                    "s",
                    _keep("s", 3, 1),
                ),
            ),
        ),
        "cb_mask_address": ("x", _null_guard(x, _let(_TRIM.format(x=x), "s", address_body))),
        "cb_mask_hidden": ("x", _null_guard(x, "'******'")),
    }
    kinds = {
        "name": "cb_mask_name",
        "cn_id_card": "cb_mask_id",
        "mobile": "cb_mask_mobile",
        "bank_card": "cb_mask_bank_card",
        "address": "cb_mask_address",
        "email": "cb_mask_email",
        "plate": "cb_mask_plate",
        "hidden": "cb_mask_hidden",
    }
    cases = " ".join(f"WHEN '{k}' THEN {m}(x)" for k, m in kinds.items())
    bodies["cb_mask_value"] = ("kind, x", f"(CASE CAST(kind AS VARCHAR) {cases} ELSE cb_mask_generic(x) END)")
    return bodies


def _bits(indices: list[int], size: int) -> bytes:
    """Bitmap as bytes for a DuckDB BIT (bit 0 = most significant bit of the first byte)."""
    buf = bytearray((size + 7) // 8)
    for i in indices:
        buf[i >> 3] |= 0x80 >> (i & 7)
    return bytes(buf)


def _g(digits: str) -> int:
    return sum(int(c) << j for j, c in enumerate(reversed(digits)))


@lru_cache(maxsize=1)
def _id_bitmaps() -> tuple[bytes, bytes, bytes]:
    """Bitmaps for the ID check (kept small: DuckDB copies each once per vector of rows).

    * id_address: bit ``code - 100000`` for every code an ID number may carry;
    * date_valid: bit ``slot`` for each real date 1900-01-01 … 2100-12-31, where
      ``slot = (year - 1900) * 1232 + mmdd`` (never below 101, so bit 0 is 0);
    * date_residue: bit ``slot * 11 + (5 * g(yyyymmdd)) % 11``, plus the always-set bit 1.
    """
    addr = [int(c) - 100000 for c in all_division_codes() | EXTRA_ADDRESS_CODES if c[0] != "0"]
    valid, residue = [], [_ALWAYS]
    for year in range(1900, 2101):
        g_year = _g(f"{year:04d}") * 16  # g(yyyymmdd) = 16 g(yyyy) + g(mmdd)
        for month in range(1, 13):
            for day in range(1, monthrange(year, month)[1] + 1):
                slot = (year - 1900) * 1232 + month * 100 + day
                valid.append(slot)
                residue.append(slot * 11 + (5 * (g_year + _g(f"{month:02d}{day:02d}"))) % 11)
    return _bits(addr, 900_000), _bits(valid, _DATE_SLOTS), _bits(residue, _DATE_SLOTS * 11)


@lru_cache(maxsize=1)
def _division_codes() -> pa.Table:
    """Every listed division code at every level as BIGINT: no code starts with 0, so the value
    alone tells the level (below 10**6 a GB/T 2260 code, then 9 and 12 digits)."""
    six = np.fromiter((int(c) for c in all_division_codes()), dtype=np.int64)
    return pa.table({"code": np.concatenate([six, subcounty_codes(9), subcounty_codes(12)])})


def register_mask_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Only the ``cb_mask_*`` macros on ``con`` (the full set takes over a second to register; masked
    serving needs only these)."""
    bodies = _macro_bodies()
    names = [n for n in MACRO_NAMES if n.startswith("cb_mask_") and n != "cb_mask_value"]
    for name in [*names, "cb_mask_value"]:
        params, body = bodies[name]
        con.execute(f"CREATE OR REPLACE TEMP MACRO {name}({params}) AS {body}")


def register_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create the lookup tables and the ``cb_*`` macros (temporary objects) on ``con``.

    Idempotent: the objects are replaced on each call.  Nothing persists in the database file.
    """
    con.register("__cb_std_division_source", _division_codes())
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_DIV_TABLE.rsplit('.', 1)[1]} AS "
                    "SELECT code FROM __cb_std_division_source").fetchall()
    finally:
        con.unregister("__cb_std_division_source")
    addr, valid, residue = _id_bitmaps()
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_BITMAP_TABLE.rsplit('.', 1)[1]} AS SELECT "
        "CAST(?::BLOB AS BIT) AS id_address, CAST(?::BLOB AS BIT) AS date_valid, "
        "CAST(?::BLOB AS BIT) AS date_residue",
        [addr, valid, residue],
    ).fetchall()
    bodies = _macro_bodies()
    # cb_id_normalize and cb_mask_value call other macros: create those first.
    order = [n for n in MACRO_NAMES if n not in ("cb_id_normalize", "cb_mask_value")]
    order += ["cb_id_normalize", "cb_mask_value"]
    for name in order:
        params, body = bodies[name]
        con.execute(f"CREATE OR REPLACE TEMP MACRO {name}({params}) AS {body}").fetchall()
