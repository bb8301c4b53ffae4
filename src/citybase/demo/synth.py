"""Deterministic synthetic people and legal entities of the city (demo and test data).

Same arguments → same rows: everything is drawn from one ``random.Random(seed)``. Rows are
plain dicts (ready for pyarrow/DuckDB). When ``defects > 0`` exactly ``round(n * defects)``
rows carry one realistic defect each, named in the row's ``_defect`` field (None on clean
rows), so data-quality tests can assert exact counts.

City-specific inputs (districts, historical codes, road names, areas to avoid) come from
``citybase.reference``; the name and character lists below are national, not per city.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from citybase.demo.words import (
    COOP_PRODUCTS,
    GIVEN_FEMALE,
    GIVEN_MALE,
    GIVEN_MIDDLE,
    MOBILE_PREFIXES,
    SHOP_TRADES,
    SURNAME_CUM,
    SURNAME_LIST,
    TRADE_CHARS,
    TRADES,
    TYPE_LABEL,
    USCC_TYPES,
)
from citybase.reference.departments import departments
from citybase.reference.divisions import DEFAULT_CITY, city_data, city_profile, district_boundaries, streets

__all__ = [
    "ENTERPRISE_DEFECTS",
    "PERSON_DEFECTS",
    "enterprises",
    "persons",
    "random_points_in",
]

PERSON_DEFECTS: tuple[str, ...] = (
    "bad_check",  # wrong check character
    "birth_mismatch",  # birth_date field disagrees with the ID number
    "missing_mobile",  # mobile is None
    "bad_mobile",  # mobile malformed
    "duplicate_id",  # ID number copied from another (clean) row
    "lower_x",  # check character X written as lower-case x
    "legacy15",  # 15-digit first-generation number
    "blank_name",  # name is the empty string
)

ENTERPRISE_DEFECTS: tuple[str, ...] = (
    "bad_check",  # 18th character wrong
    "lower_case",  # letters written in lower case
    "missing_legal_rep",  # legal_rep is None
    "duplicate_code",  # credit code copied from another (clean) row
    "bad_length",  # one character dropped (17 characters)
    "blank_name",  # name is the empty string
)

# --------------------------------------------------------------------------- check characters
# Private copies of the GB 11643 / GB 32100 / GB 11714 formulas keep this module fast and
# self-contained; tests cross-check them against citybase.standards.

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(_USCC_CHARS)}
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _id_check(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def _uscc_check(first17: str) -> str:
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def _org_check(body8: str) -> str:
    total = sum(
        (int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True)
    )
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


# --------------------------------------------------------------------------- geometry


def random_points_in(geom: BaseGeometry, n: int, rng: random.Random) -> list[tuple[float, float]]:
    """``n`` uniformly random points (lon, lat) inside ``geom``, by rejection sampling.

    Candidates are drawn from ``rng`` over the bounding box and tested in vectorised batches
    with ``shapely.contains_xy``; the result depends only on the geometry and the rng state.
    """
    if n <= 0:
        return []
    if geom.is_empty or geom.area <= 0:
        raise ValueError("几何对象为空或面积为零，无法采样")
    shapely.prepare(geom)
    minx, miny, maxx, maxy = geom.bounds
    ratio = max(geom.area / ((maxx - minx) * (maxy - miny)), 0.01)
    out: list[tuple[float, float]] = []
    while len(out) < n:
        want = n - len(out)
        batch = max(64, int(want / ratio * 1.15) + 16)
        us = np.array([rng.random() for _ in range(2 * batch)], dtype=float)
        xs = minx + us[:batch] * (maxx - minx)
        ys = miny + us[batch:] * (maxy - miny)
        inside = shapely.contains_xy(geom, xs, ys)
        for x, y in zip(xs[inside].tolist(), ys[inside].tolist(), strict=True):
            out.append((x, y))
            if len(out) == n:
                break
    return out


# --------------------------------------------------------------------------- city context


@dataclass(frozen=True)
class _City:
    code: str
    name: str
    districts: tuple[tuple[str, str], ...]
    weights: tuple[float, ...]
    areas: dict[str, BaseGeometry]
    streets: dict[str, tuple[tuple[str, str], ...]]
    roads: dict[str, tuple[str, ...]]
    codes_by_year: dict[int, tuple[str, ...]]
    successors: dict[str, tuple[str, ...]]
    registration_codes: dict[str, tuple[str, ...]]
    agencies: dict[str, tuple[str, ...]]


@lru_cache(maxsize=8)
def _city(city_code: str) -> _City:
    profile = city_profile(city_code)
    raw = city_data(city_code)
    demo = raw.get("demo", {})
    exclusion = shapely.union_all([Polygon(ring) for ring in demo.get("exclude_wgs84", [])])
    bounds = district_boundaries(city_code)
    areas: dict[str, BaseGeometry] = {}
    for code, geom in bounds.items():
        area = geom.difference(exclusion) if not exclusion.is_empty else geom
        if area.is_empty or area.area < 0.2 * geom.area:
            area = geom
        shapely.prepare(area)
        areas[code] = area
    street_map: dict[str, list[tuple[str, str]]] = {d.code: [] for d in profile.districts}
    for s in streets(city_code):
        if s.kind != "其他":
            street_map[s.district_code].append((s.code, s.name))
    roads_raw = demo.get("roads", {})
    roads = {
        d.code: tuple(roads_raw.get(d.code) or ("人民路", "建设路", "解放路", "中山路"))
        for d in profile.districts
    }
    codes_by_year = {y: tuple(sorted(profile.codes_valid_in(y))) for y in range(1983, 2031)}
    successors = {h.code: h.successors for h in profile.historical}
    for d in profile.districts:
        successors.setdefault(d.code, (d.code,))
    registration: dict[str, tuple[str, ...]] = {}
    for d in profile.districts:
        registration[d.code] = tuple(
            h.code for h in profile.historical if d.code in h.successors and h.valid_to >= 2015
        )
    agencies: dict[str, list[str]] = {}
    for dep in departments(city_code):
        agencies.setdefault(dep.division_code, []).append(dep.name)
    total = sum(profile.population.get(d.code, 1) for d in profile.districts)
    return _City(
        code=profile.code,
        name=profile.name,
        districts=tuple((d.code, d.name) for d in profile.districts),
        weights=tuple(profile.population.get(d.code, 1) / total for d in profile.districts),
        areas=areas,
        streets={k: tuple(v) for k, v in street_map.items()},
        roads=roads,
        codes_by_year=codes_by_year,
        successors=successors,
        registration_codes=registration,
        agencies={k: tuple(v) for k, v in agencies.items()},
    )


def _points_by_district(
    city: _City, district_codes: list[str], rng: random.Random
) -> list[tuple[float, float]]:
    counts: dict[str, int] = {}
    for code in district_codes:
        counts[code] = counts.get(code, 0) + 1
    pools = {
        code: iter(random_points_in(city.areas[code], counts[code], rng))
        for code, _ in city.districts
        if code in counts
    }
    return [next(pools[code]) for code in district_codes]


# --------------------------------------------------------------------------- small generators


def _surname(rng: random.Random) -> str:
    return rng.choices(SURNAME_LIST, cum_weights=SURNAME_CUM)[0]


def _person_name(rng: random.Random, male: bool) -> str:
    pool = GIVEN_MALE if male else GIVEN_FEMALE
    if rng.random() < 0.72:
        given = rng.choice(GIVEN_MIDDLE if rng.random() < 0.4 else pool) + rng.choice(pool)
    else:
        given = rng.choice(pool)
    return _surname(rng) + given


def _mobile(rng: random.Random) -> str:
    return f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"


def _birth_year(rng: random.Random) -> int:
    while True:
        y = int(rng.gauss(1978, 17))
        if 1940 <= y <= 2010:
            return y


def _address(
    city: _City, district_code: str, district_name: str, street_name: str, rng: random.Random
) -> str:
    road = rng.choice(city.roads[district_code])
    number = rng.randint(1, 999)
    if rng.random() < 0.8:
        return f"{city.name}{district_name}{street_name}{road}{number}号{rng.randint(1, 30)}幢{rng.randint(1, 28)}{rng.randint(1, 6):02d}室"
    return f"{city.name}{district_name}{street_name}{road}{number}号"


def _id_address_code(city: _City, district_code: str, birth_year: int, rng: random.Random) -> str:
    # First-generation cards were issued 1984–1990; later numbers are assigned at birth.
    issue_year = birth_year if birth_year >= 1985 else rng.randint(1985, 1992)
    issue_year = min(issue_year, max(city.codes_by_year))
    candidates = city.codes_by_year[issue_year]
    local = [c for c in candidates if district_code in city.successors.get(c, ())]
    if local and rng.random() < 0.8:
        return rng.choice(local)
    return rng.choice(candidates)


def _split_defects(n: int, defects: float, kinds: tuple[str, ...], rng: random.Random) -> dict[int, str]:
    if not 0.0 <= defects <= 0.5:
        raise ValueError("defects 必须在 0 到 0.5 之间")
    k = round(n * defects)
    if k == 0:
        return {}
    chosen = sorted(rng.sample(range(n), k))
    order = list(kinds)
    rng.shuffle(order)
    return {idx: order[i % len(order)] for i, idx in enumerate(chosen)}


def _clean_source(
    rows: list[dict[str, Any]], defect_at: dict[int, str], used: set[int], rng: random.Random
) -> dict[str, Any]:
    """A clean row not copied before, so every duplicate pair is exactly two rows."""
    for _ in range(1000):
        j = rng.randrange(len(rows))
        if j not in defect_at and j not in used:
            used.add(j)
            return rows[j]
    for j, row in enumerate(rows):
        if j not in defect_at and j not in used:
            used.add(j)
            return row
    raise ValueError("没有可复制的正常记录")


# --------------------------------------------------------------------------- persons


def _new_id(
    code: str, born: date, male: bool, taken: set[str], rng: random.Random, want_x: bool = False
) -> str:
    ymd = born.strftime("%Y%m%d")
    for _ in range(10000):
        seq = rng.randrange(50) * 2 + (1 if male else 0)
        body = f"{code}{ymd}{rng.randrange(10)}{seq:02d}"
        number = body + _id_check(body)
        if want_x and number[-1] != "X":
            continue
        legacy = f"{code}{ymd[2:]}{body[-3:]}"
        if number not in taken and legacy not in taken:
            taken.add(number)
            taken.add(legacy)
            return number
    raise RuntimeError("无法生成不重复的身份证号码")


def persons(
    n: int, seed: int = 0, defects: float = 0.0, city_code: str = DEFAULT_CITY
) -> list[dict[str, Any]]:
    """``n`` synthetic residents.

    Fields: ``id_number`` (valid 18 characters; address codes current and historical),
    ``name``, ``gender`` (男/女, agrees with the ID), ``birth_date`` (date, agrees with the ID),
    ``mobile``, ``district_code``, ``street_code``, ``address``, ``lon``/``lat`` (WGS84, inside
    the district) and ``_defect`` (None, or one of :data:`PERSON_DEFECTS`).
    """
    if n < 0:
        raise ValueError("n 必须为非负整数")
    rng = random.Random(seed)
    city = _city(city_code)
    district_names = dict(city.districts)
    codes = [c for c, _ in city.districts]
    district_of = rng.choices(codes, weights=city.weights, k=n)
    points = _points_by_district(city, district_of, rng)
    defect_at = _split_defects(n, defects, PERSON_DEFECTS, rng)
    taken: set[str] = set()
    rows: list[dict[str, Any]] = []
    for i in range(n):
        district = district_of[i]
        kind = defect_at.get(i)
        male = rng.random() < 0.51
        year = _birth_year(rng)
        if kind == "legacy15" and year >= 2000:
            year = rng.randint(1940, 1999)
        born = date(year, 1, 1) + timedelta(days=rng.randrange(365 if year % 4 else 366))
        address_code = _id_address_code(city, district, year, rng)
        id_number = _new_id(address_code, born, male, taken, rng, want_x=(kind == "lower_x"))
        street_code, street_name = rng.choice(city.streets[district]) if city.streets[district] else ("", "")
        lon, lat = points[i]
        rows.append(
            {
                "id_number": id_number,
                "name": _person_name(rng, male),
                "gender": "男" if male else "女",
                "birth_date": born,
                "mobile": _mobile(rng),
                "district_code": district,
                "street_code": street_code,
                "address": _address(city, district, district_names[district], street_name, rng),
                "lon": round(lon, 6),
                "lat": round(lat, 6),
                "_defect": kind,
            }
        )
    copied: set[int] = set()
    for i, kind in sorted(defect_at.items()):
        row = rows[i]
        number = row["id_number"]
        if kind == "bad_check":
            row["id_number"] = number[:17] + rng.choice([c for c in _ID_CHECK if c != number[17]])
        elif kind == "birth_mismatch":
            row["birth_date"] = row["birth_date"] + timedelta(days=rng.choice([-1, 1]) * rng.randint(1, 400))
        elif kind == "missing_mobile":
            row["mobile"] = None
        elif kind == "bad_mobile":
            if rng.random() < 0.5:
                row["mobile"] = row["mobile"][:-1]  # 10 digits
            else:
                row["mobile"] = "1" + rng.choice("012") + row["mobile"][2:]  # no such network
        elif kind == "duplicate_id":
            src = _clean_source(rows, defect_at, copied, rng)
            row["id_number"] = src["id_number"]
            row["gender"] = src["gender"]
            row["birth_date"] = src["birth_date"]
        elif kind == "lower_x":
            row["id_number"] = number[:17] + "x"
        elif kind == "legacy15":
            row["id_number"] = number[:6] + number[8:17]
        elif kind == "blank_name":
            row["name"] = ""
    return rows


# --------------------------------------------------------------------------- enterprises


def _org_body(rng: random.Random, new_style: bool) -> str:
    if new_style:
        body = "MA" + "".join(rng.choice(_USCC_CHARS) for _ in range(6))
    else:
        body = f"{rng.randrange(10**8):08d}"
    return body + _org_check(body)


def _new_credit_code(
    prefix: str,
    division: str,
    new_style: bool,
    taken: set[str],
    rng: random.Random,
    need_letter: bool = False,
) -> str:
    for _ in range(10000):
        first17 = prefix + division + _org_body(rng, new_style or need_letter)
        code = first17 + _uscc_check(first17)
        if need_letter and not any(c.isalpha() for c in code):
            continue
        if code not in taken:
            taken.add(code)
            return code
    raise RuntimeError("无法生成不重复的统一社会信用代码")


def _entity_name(
    city: _City, prefix: str, district: str, district_name: str, street_name: str, rng: random.Random
) -> tuple[str, str]:
    county_level = district_name.endswith("市")
    place = district_name if county_level else rng.choice((city.name, city.name.removesuffix("市")))
    brand = rng.choice(TRADE_CHARS) + rng.choice(TRADE_CHARS)
    if prefix == "91":
        trade, industry = rng.choice(TRADES)
        form = "股份有限公司" if rng.random() < 0.05 else "有限公司"
        return f"{place}{brand}{trade}{form}", industry
    if prefix == "92":
        trade, industry = rng.choice(SHOP_TRADES)
        return f"{district_name}{street_name}{_surname(rng)}记{trade}", industry
    if prefix == "93":
        return (
            f"{district_name}{street_name}{brand}{rng.choice(COOP_PRODUCTS)}专业合作社",
            "农、林、牧、渔业",
        )
    if prefix == "11":
        names = (
            city.agencies.get(district) or city.agencies.get(city.code) or (f"{district_name}人民政府办公室",)
        )
        return rng.choice(names), "公共管理、社会保障和社会组织"
    if prefix == "12":
        choice = rng.randrange(3)
        if choice == 0:
            return f"{district_name}{street_name}社区卫生服务中心", "卫生和社会工作"
        if choice == 1:
            return f"{district_name}{brand}实验小学", "教育"
        return f"{district_name}{street_name}便民服务中心", "公共管理、社会保障和社会组织"
    if prefix == "51":
        trade, _ = rng.choice(TRADES)
        return f"{city.name}{trade}行业协会", "公共管理、社会保障和社会组织"
    if prefix == "52":
        return f"{district_name}{brand}养老服务中心", "卫生和社会工作"
    if prefix == "N2":
        return f"{district_name}{street_name}{brand}村股份经济合作社", "农、林、牧、渔业"
    if prefix == "A1":
        return f"中国人民解放军{rng.randint(31001, 96999)}部队", "公共管理、社会保障和社会组织"
    return f"{district_name}{brand}公墓管理处", "居民服务、修理和其他服务业"


def enterprises(
    n: int, seed: int = 0, defects: float = 0.0, city_code: str = DEFAULT_CITY
) -> list[dict[str, Any]]:
    """``n`` synthetic legal entities (mostly companies registered with 市场监管, department 9).

    Fields: ``credit_code`` (valid 统一社会信用代码), ``org_type`` (企业/个体工商户/…), ``name``,
    ``legal_rep``, ``reg_capital`` (万元; None for non-commercial entities), ``established``
    (date), ``industry`` (GB/T 4754 门类), ``district_code``, ``street_code``, ``address``,
    ``lon``/``lat`` and ``_defect`` (None, or one of :data:`ENTERPRISE_DEFECTS`).
    """
    if n < 0:
        raise ValueError("n 必须为非负整数")
    rng = random.Random(seed)
    city = _city(city_code)
    district_names = dict(city.districts)
    codes = [c for c, _ in city.districts]
    district_of = rng.choices(codes, weights=city.weights, k=n)
    points = _points_by_district(city, district_of, rng)
    defect_at = _split_defects(n, defects, ENTERPRISE_DEFECTS, rng)
    type_prefixes = [p for p, _ in USCC_TYPES]
    type_weights = [w for _, w in USCC_TYPES]
    taken_codes: set[str] = set()
    taken_names: set[str] = set()
    rows: list[dict[str, Any]] = []
    for i in range(n):
        district = district_of[i]
        kind = defect_at.get(i)
        prefix = rng.choices(type_prefixes, weights=type_weights)[0]
        established = date(1992, 1, 1) + timedelta(
            days=rng.randrange((date(2024, 12, 31) - date(1992, 1, 1)).days)
        )
        if kind == "lower_case" and established < date(2016, 1, 1):
            established = date(2016, 1, 1) + timedelta(days=rng.randrange(3000))
        new_style = established >= date(2016, 1, 1)
        division = district
        old_codes = city.registration_codes.get(district, ())
        r = rng.random()
        if r < 0.08:
            division = city.code
        elif old_codes and not new_style and r < 0.2:
            division = rng.choice(old_codes)
        credit_code = _new_credit_code(
            prefix, division, new_style, taken_codes, rng, need_letter=(kind == "lower_case")
        )
        street_code, street_name = rng.choice(city.streets[district]) if city.streets[district] else ("", "")
        for _ in range(30):
            name, industry = _entity_name(city, prefix, district, district_names[district], street_name, rng)
            if prefix in ("11", "A1") or name not in taken_names:
                break
        else:  # the city has run out of plausible names: number the branch
            base, k = name, 2
            while name in taken_names:
                name, k = f"{base}（{k}）", k + 1
        taken_names.add(name)
        if prefix in ("91", "92", "93"):
            scale = rng.choice((1, 3, 5, 10, 50, 100, 200, 500, 1000, 3000, 5000, 10000))
            reg_capital: float | None = float(scale if prefix == "91" else max(1, scale // 100))
        else:
            reg_capital = None
        lon, lat = points[i]
        rows.append(
            {
                "credit_code": credit_code,
                "org_type": TYPE_LABEL[prefix],
                "name": name,
                "legal_rep": _person_name(rng, rng.random() < 0.7),
                "reg_capital": reg_capital,
                "established": established,
                "industry": industry,
                "district_code": district,
                "street_code": street_code,
                "address": _address(city, district, district_names[district], street_name, rng),
                "lon": round(lon, 6),
                "lat": round(lat, 6),
                "_defect": kind,
            }
        )
    copied: set[int] = set()
    for i, kind in sorted(defect_at.items()):
        row = rows[i]
        code = row["credit_code"]
        if kind == "bad_check":
            row["credit_code"] = code[:17] + rng.choice([c for c in _USCC_CHARS if c != code[17]])
        elif kind == "lower_case":
            row["credit_code"] = code.lower()
        elif kind == "missing_legal_rep":
            row["legal_rep"] = None
        elif kind == "duplicate_code":
            row["credit_code"] = _clean_source(rows, defect_at, copied, rng)["credit_code"]
        elif kind == "bad_length":
            cut = rng.randrange(8, 17)
            row["credit_code"] = code[:cut] + code[cut + 1 :]
        elif kind == "blank_name":
            row["name"] = ""
    return rows
