"""The grid layer: its version, the in-memory index per version, and point lookups (point → grid, community, street, district)."""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citybase.config import get_settings
from citybase.core.errors import BadInput
from citybase.db import clear_now_and_after_commit
from citybase.grid.index import OUTSIDE, GridIndex
from citybase.grid.models import Grid, GridAssignment, GridCommunity, GridState
from citybase.grid.schemas import (
    GridHit,
)
from citybase.reference import divisions

DEFAULT_TARGET_KM2 = 1.6  # generated grids: 镇 ≈ 1.6 km², 街道 ≈ 0.8 km² → about 4,000 grids over Wuxi
GRID_CODE_LEN = 15
COMMUNITY_CODE_LEN = 12
NAME_NOTE = "社区/村名称为演示数据生成，并非真实名录（参考数据中没有社区名录）"
KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON_EQ = 111.320


def _city() -> str:
    return get_settings().city_code


def city_code() -> str:
    """The configured city (its districts' boundaries frame the grid layer)."""
    return _city()


def district_names(city_code: str | None = None) -> dict[str, str]:
    profile = divisions.city_profile(city_code or _city())
    return {d.code: d.name for d in profile.districts}


def street_names(city_code: str | None = None) -> dict[str, str]:
    return {s.code: s.name for s in divisions.streets(city_code or _city())}


def area_km2(geom: BaseGeometry) -> float:
    """Area of a WGS84 geometry in km² (local equirectangular scale at its centroid; < 0.5 % off)."""
    if geom.is_empty:
        return 0.0
    lat = geom.centroid.y
    return float(geom.area * KM_PER_DEG_LAT * KM_PER_DEG_LON_EQ * math.cos(math.radians(lat)))


def layer_version(session: Session) -> str:
    value = session.execute(select(GridState.value).where(GridState.key == "version")).scalar_one_or_none()
    return value if value is not None else "empty"


def _bump_version(session: Session) -> str:
    clear_now_and_after_commit(session, _SEEN)  # this process reads the new version at once
    value = uuid.uuid4().hex
    row = session.get(GridState, "version")
    if row is None:
        session.add(GridState(key="version", value=value))
    else:
        row.value = value
    session.flush()
    return value


@dataclass
class _Layer:
    version: str
    index: GridIndex
    codes: np.ndarray
    hits: list[GridHit]
    by_code: dict[str, int]


_CACHE: OrderedDict[tuple[str, str], _Layer] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 4
_SEEN: dict[str, tuple[float, str]] = {}  # database → (when, layer version read then)


def _layer(session: Session, max_age: float = 0.0) -> _Layer:
    database = get_settings().db_url
    seen = _SEEN.get(database)
    if max_age > 0 and seen is not None and time.monotonic() - seen[0] < max_age:
        version = seen[1]
    else:
        version = layer_version(session)
        _SEEN[database] = (time.monotonic(), version)
    key = (database, version)
    with _CACHE_LOCK:
        layer = _CACHE.get(key)
        if layer is not None:
            _CACHE.move_to_end(key)
            return layer
    layer = _load_layer(session, version)
    with _CACHE_LOCK:
        _CACHE[key] = layer
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return layer


def _load_layer(session: Session, version: str) -> _Layer:
    rows = session.execute(
        select(Grid.code, Grid.name, Grid.community_code, Grid.street_code, Grid.district_code, Grid.geometry,
               GridCommunity.name)
        .join(GridCommunity, GridCommunity.code == Grid.community_code)
        .order_by(Grid.code)
    ).all()
    streets, dists = street_names(), district_names()
    codes = np.asarray([r[0] for r in rows], dtype=object)
    index = GridIndex.from_geojson([r[0] for r in rows], [r[5] for r in rows]) if rows else \
        GridIndex(np.asarray([], dtype=object), np.asarray([], dtype=object))
    hits = [GridHit(grid_code=r[0], grid_name=r[1], community_code=r[2], community_name=r[6],
                    street_code=r[3], street_name=streets.get(r[3], ""), district_code=r[4],
                    district_name=dists.get(r[4], "")) for r in rows]
    return _Layer(version=version, index=index, codes=codes, hits=hits,
                  by_code={c: i for i, c in enumerate(codes)})


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()


def locate(session: Session, lon: float, lat: float) -> GridHit | None:
    """The grid (with community, street, district) covering a WGS84 point; None outside the city.

    A point on an edge shared by several grids goes to the one with the lowest code.
    """
    return locator(session)(lon, lat)


def locator(session: Session, max_age: float = 0.0) -> Callable[[Any, Any], GridHit | None]:
    """:func:`locate` for many single points in a row (a batch of intakes): the layer is looked up
    once, not once per point. ``max_age``: trust the layer version this process read less than that
    many seconds ago instead of reading it again (changes made through this process apply at once)."""
    layer = _layer(session, max_age)

    def find(lon: Any, lat: Any) -> GridHit | None:
        try:
            x, y = float(lon), float(lat)
        except (TypeError, ValueError):
            return None
        pos = layer.index.locate_one(x, y)
        return None if pos is None else layer.hits[pos]

    return find


def locate_or_error(session: Session, lon: float, lat: float) -> GridHit:
    """Like :func:`locate`, but a point outside every grid is a clear 4xx for the caller."""
    check_lon_lat(lon, lat)
    hit = locate(session, lon, lat)
    if hit is None:
        if layer_summary(session)["grids"] == 0:
            raise BadInput("尚未建立网格，请先导入或生成网格", code="no_grids")
        raise BadInput(f"坐标（经度 {lon}，纬度 {lat}）不在本市任何网格内，请核对位置（WGS84 经纬度）",
                       code="outside_city", detail={"lon": lon, "lat": lat})
    return hit


def check_lon_lat(lon: Any, lat: Any) -> tuple[float, float]:
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        raise BadInput("经纬度须为数字", code="bad_coordinates", detail={"lon": lon, "lat": lat}) from None
    if not (math.isfinite(x) and math.isfinite(y)) or not (-180 <= x <= 180 and -90 <= y <= 90):
        raise BadInput("经度须在 -180～180、纬度须在 -90～90 之间", code="bad_coordinates",
                       detail={"lon": lon, "lat": lat})
    return x, y


def locate_many(session: Session, lons: Sequence[float] | np.ndarray,
                lats: Sequence[float] | np.ndarray) -> np.ndarray:
    """Grid codes (numpy object array) for arrays of WGS84 points; None where outside every grid."""
    layer = _layer(session)
    pos = layer.index.locate_many(np.asarray(lons, dtype=np.float64), np.asarray(lats, dtype=np.float64))
    out = np.full(len(pos), None, dtype=object)
    found = pos != OUTSIDE
    out[found] = layer.codes[pos[found]]
    return out


def locate_many_positions(session: Session, lons: np.ndarray, lats: np.ndarray) -> tuple[np.ndarray, list[GridHit]]:
    """Positions into the returned hit list (int32, -1 outside): for callers aggregating by street etc."""
    layer = _layer(session)
    return layer.index.locate_many(np.asarray(lons, dtype=np.float64),
                                   np.asarray(lats, dtype=np.float64)), layer.hits


def layer_summary(session: Session) -> dict[str, Any]:
    grids, area = session.execute(select(func.count(Grid.code), func.coalesce(func.sum(Grid.area_km2), 0.0))
                                  ).one()
    comms = session.execute(select(func.count()).select_from(GridCommunity)).scalar_one()
    streets = session.execute(select(func.count(func.distinct(Grid.street_code)))).scalar_one()
    dists = session.execute(select(func.count(func.distinct(Grid.district_code)))).scalar_one()
    workers = session.execute(select(func.count(func.distinct(GridAssignment.username)))).scalar_one()
    generated = session.execute(select(func.count()).select_from(GridCommunity)
                                .where(GridCommunity.generated.is_(True))).scalar_one()
    assigned = session.execute(select(func.count(func.distinct(GridAssignment.grid_code)))).scalar_one()
    return {"grids": int(grids), "area_km2": round(float(area), 1), "communities": int(comms),
            "streets": int(streets), "districts": int(dists), "workers": int(workers),
            "assigned_grids": int(assigned), "generated_names": generated > 0,
            "version": layer_version(session)}


@dataclass
class CommunitySpec:
    code: str
    name: str
    kind: str
    generated: bool


@dataclass
class GridSpec:
    code: str
    name: str
    geometry: BaseGeometry
