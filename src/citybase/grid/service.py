"""Grid services: the grid layer (import, generation), lookups, and grid-worker assignments.

Public API other modules may call (see the cross-module contracts):

* ``locate(session, lon, lat) -> GridHit | None`` — None outside every grid (outside the city);
* ``locate_or_error(session, lon, lat) -> GridHit`` — the same, raising a Chinese ``BadInput``
  (code ``outside_city``) for callers that must refuse such points;
* ``locate_many(session, lons, lats) -> numpy object array`` of grid codes, None outside;
* ``grid_workers(session, grid_code) -> list[str]``; ``worker_grids(session, username)``;
* ``get_grid(session, code) -> GridOut``; ``grids_geojson(session, district_code=None) -> dict``.

The spatial index is cached in-process, keyed by the database URL and the layer version stored in
``grid_state`` (a new random version is written by every import and generation, so every process
sees the change on its next call).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from citybase.config import get_settings
from citybase.core.audit import service as audit
from citybase.core.errors import BadInput, Conflict, NotFound
from citybase.core.identity import service as identity
from citybase.core.identity.principal import Principal, authorize
from citybase.core.identity.roles import Role
from citybase.db import clear_now_and_after_commit, utcnow
from citybase.grid.index import OUTSIDE, GridIndex
from citybase.grid.models import Grid, GridAssignment, GridCommunity, GridState
from citybase.grid.schemas import (
    AssignmentOut,
    CommunityOut,
    GridDetail,
    GridHit,
    GridOut,
    GridPage,
    LayerResult,
)
from citybase.reference import divisions

__all__ = [
    "GridHit",
    "assign_worker",
    "communities",
    "generate",
    "get_grid",
    "grid_detail",
    "grid_workers",
    "grids_geojson",
    "import_geojson",
    "layer_summary",
    "list_grids",
    "locate",
    "locate_many",
    "locate_or_error",
    "open_orders_by_grid",
    "unassign_worker",
    "worker_grids",
]

DEFAULT_TARGET_KM2 = 1.6  # generated grids: 镇 ≈ 1.6 km², 街道 ≈ 0.8 km² → about 4,000 grids over Wuxi
GRID_CODE_LEN = 15
COMMUNITY_CODE_LEN = 12
NAME_NOTE = "社区/村名称为演示数据生成，并非真实名录（参考数据中没有社区名录）"
KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON_EQ = 111.320


# --------------------------------------------------------------------------- reference names


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


# --------------------------------------------------------------------------- layer version + index


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


# --------------------------------------------------------------------------- lookups


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


# --------------------------------------------------------------------------- reads


def _grid_row(session: Session, code: str) -> Grid:
    row = session.get(Grid, str(code).strip())
    if row is None:
        raise NotFound(f"网格不存在：{code}", code="unknown_grid", detail={"grid_code": code})
    return row


def grid_workers(session: Session, grid_code: str) -> list[str]:
    """Usernames of the grid workers assigned to a grid (sorted; empty if none or unknown)."""
    return list(session.execute(select(GridAssignment.username).where(GridAssignment.grid_code == grid_code)
                                .order_by(GridAssignment.username)).scalars())


def worker_grids(session: Session, username: str) -> list[str]:
    """Codes of the grids a grid worker is assigned to."""
    return list(session.execute(select(GridAssignment.grid_code).where(GridAssignment.username == username)
                                .order_by(GridAssignment.grid_code)).scalars())


def assignments(session: Session, grid_code: str) -> list[AssignmentOut]:
    rows = session.execute(select(GridAssignment).where(GridAssignment.grid_code == grid_code)
                           .order_by(GridAssignment.username)).scalars()
    return [AssignmentOut(grid_code=r.grid_code, username=r.username, assigned_by=r.assigned_by,
                          assigned_at=r.assigned_at) for r in rows]


def _grid_out(row: Grid, community: GridCommunity | None, workers: list[str],
              streets: dict[str, str], dists: dict[str, str]) -> GridOut:
    return GridOut(
        code=row.code, name=row.name, community_code=row.community_code,
        community_name=community.name if community else "", community_kind=community.kind if community else "",
        street_code=row.street_code, street_name=streets.get(row.street_code, ""),
        district_code=row.district_code, district_name=dists.get(row.district_code, ""),
        area_km2=round(row.area_km2, 4), centroid=(row.centroid_lon, row.centroid_lat), source=row.source,
        generated_names=bool(community.generated) if community else False, workers=workers,
        created_at=row.created_at, updated_at=row.updated_at)


def get_grid(session: Session, code: str) -> GridOut:
    """One grid with its community, street, district and workers (NotFound code ``unknown_grid``)."""
    row = _grid_row(session, code)
    return _grid_out(row, session.get(GridCommunity, row.community_code), grid_workers(session, row.code),
                     street_names(), district_names())


def grid_detail(session: Session, code: str) -> GridDetail:
    """:func:`get_grid` plus geometry and the number of open work orders (when events is installed)."""
    out = get_grid(session, code)
    row = _grid_row(session, code)
    counts = open_orders_by_grid(session)
    return GridDetail(**out.model_dump(), geometry=json.loads(row.geometry),
                      open_orders=None if counts is None else int(counts.get(out.code, 0)))


def list_grids(session: Session, *, district_code: str | None = None, street_code: str | None = None,
               community_code: str | None = None, q: str | None = None, worker: str | None = None,
               page: int = 1, size: int = 50) -> GridPage:
    page, size = max(1, int(page)), max(1, min(int(size), 500))
    stmt = select(Grid)
    if district_code:
        stmt = stmt.where(Grid.district_code == district_code)
    if street_code:
        stmt = stmt.where(Grid.street_code == street_code)
    if community_code:
        stmt = stmt.where(Grid.community_code == community_code)
    if q:
        stmt = stmt.where(Grid.code.startswith(q.strip()) | Grid.name.contains(q.strip()))
    if worker:
        stmt = stmt.where(Grid.code.in_(select(GridAssignment.grid_code)
                                        .where(GridAssignment.username == worker)))
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = list(session.execute(stmt.order_by(Grid.code).offset((page - 1) * size).limit(size)).scalars())
    comms = {c.code: c for c in session.execute(
        select(GridCommunity).where(GridCommunity.code.in_({r.community_code for r in rows}))).scalars()}
    workers: dict[str, list[str]] = {}
    for g, u in session.execute(select(GridAssignment.grid_code, GridAssignment.username)
                                .where(GridAssignment.grid_code.in_([r.code for r in rows]))
                                .order_by(GridAssignment.username)):
        workers.setdefault(g, []).append(u)
    streets, dists = street_names(), district_names()
    return GridPage(items=[_grid_out(r, comms.get(r.community_code), workers.get(r.code, []), streets, dists)
                           for r in rows], total=total, page=page, size=size)


def communities(session: Session, street_code: str | None = None) -> list[CommunityOut]:
    stmt = select(GridCommunity, func.count(Grid.code)).outerjoin(
        Grid, Grid.community_code == GridCommunity.code).group_by(GridCommunity.code)
    if street_code:
        stmt = stmt.where(GridCommunity.street_code == street_code)
    streets, dists = street_names(), district_names()
    return [CommunityOut(code=c.code, name=c.name, kind=c.kind, street_code=c.street_code,
                         street_name=streets.get(c.street_code, ""), district_code=c.district_code,
                         district_name=dists.get(c.district_code, ""), generated=c.generated, grid_count=n)
            for c, n in session.execute(stmt.order_by(GridCommunity.code)).all()]


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


_GEOJSON_CACHE: OrderedDict[tuple[str, str, str], str] = OrderedDict()


def grids_geojson_text(session: Session, district_code: str | None = None) -> str:
    """:func:`grids_geojson` serialised (cached per layer version; serve as-is over HTTP)."""
    key = (str(session.get_bind().url), layer_version(session), district_code or "")
    with _CACHE_LOCK:
        cached = _GEOJSON_CACHE.get(key)
    if cached is not None:
        return cached
    stmt = (select(Grid.code, Grid.name, Grid.community_code, GridCommunity.name, GridCommunity.kind,
                   Grid.street_code, Grid.district_code, Grid.area_km2, Grid.centroid_lon, Grid.centroid_lat,
                   Grid.geometry)
            .join(GridCommunity, GridCommunity.code == Grid.community_code).order_by(Grid.code))
    if district_code:
        stmt = stmt.where(Grid.district_code == district_code)
    streets, dists = street_names(), district_names()
    parts = []
    for code, name, ccode, cname, ckind, scode, dcode, area, clon, clat, geom in session.execute(stmt):
        props = {"code": code, "name": name, "community_code": ccode, "community_name": cname,
                 "community_kind": ckind,
                 "street_code": scode, "street_name": streets.get(scode, ""), "district_code": dcode,
                 "district_name": dists.get(dcode, ""), "area_km2": round(area, 3), "cp": [clon, clat]}
        parts.append('{"type":"Feature","properties":' + json.dumps(props, ensure_ascii=False,
                                                                       separators=(",", ":"))
                     + ',"geometry":' + geom + "}")
    meta = {"crs": "WGS84", "count": len(parts), "version": key[1]}
    if session.execute(select(GridCommunity.code).where(GridCommunity.generated.is_(True)).limit(1)).first():
        meta["note"] = NAME_NOTE
    text = ('{"type":"FeatureCollection","metadata":' + json.dumps(meta, ensure_ascii=False)
            + ',"features":[' + ",".join(parts) + "]}")
    with _CACHE_LOCK:
        _GEOJSON_CACHE[key] = text
        while len(_GEOJSON_CACHE) > 16:
            _GEOJSON_CACHE.popitem(last=False)
    return text


def grids_geojson(session: Session, district_code: str | None = None) -> dict:
    """WGS84 FeatureCollection of the grids (optionally one district's). Feature properties:
    code, name, community_code/name/kind, street_code/name, district_code/name, area_km2, cp.
    The output is also a valid input of :func:`import_geojson` (export → edit → import)."""
    return json.loads(grids_geojson_text(session, district_code))


# --------------------------------------------------------------------------- open work orders hook


def open_orders_by_grid(session: Session) -> dict[str, int] | None:
    """Open work orders per grid code, read from the events module when it is installed; else None."""
    name = "citybase.events.service"
    try:
        spec = importlib.util.find_spec(name)
    except (ModuleNotFoundError, ValueError):
        spec = None
    if spec is None:
        return None
    module = importlib.import_module(name)
    fn = getattr(module, "open_orders_by_grid", None)
    if not callable(fn):
        return None
    return {str(k): int(v) for k, v in (fn(session) or {}).items()}


# --------------------------------------------------------------------------- assignments


def assign_worker(session: Session, principal: Principal, grid_code: str, username: str) -> AssignmentOut:
    """Assign a grid worker (an active user with role grid_worker) to a grid. Audited."""
    authorize(principal, "grid.assign")
    grid = _grid_row(session, grid_code)
    user = identity.get_user(session, username.strip())
    if user.role != Role.GRID_WORKER.value:
        raise BadInput(f"用户 {user.username} 不是网格员，不能分配到网格", code="not_grid_worker",
                       detail={"username": user.username, "role": user.role})
    if not user.active:
        raise BadInput(f"用户 {user.username} 已停用，不能分配到网格", code="user_inactive")
    exists = session.execute(select(GridAssignment.id).where(GridAssignment.grid_code == grid.code,
                                                             GridAssignment.username == user.username)).first()
    if exists:
        raise Conflict(f"网格员 {user.username} 已分配到网格 {grid.code}", code="already_assigned")
    row = GridAssignment(grid_code=grid.code, username=user.username, assigned_by=principal.actor,
                         assigned_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(session, principal, "grid.assign", "grid", grid.code, {"username": user.username})
    return AssignmentOut(grid_code=row.grid_code, username=row.username, assigned_by=row.assigned_by,
                         assigned_at=row.assigned_at)


def candidate_workers(session: Session, grid_code: str) -> list[dict[str, Any]]:
    """Grid-worker accounts of the grid's street and district organisations, marked if assigned."""
    grid = _grid_row(session, grid_code)
    assigned = set(grid_workers(session, grid.code))
    out = []
    for org in (grid.street_code, grid.district_code):
        for u in identity.users_in_org(session, org, role=Role.GRID_WORKER.value):
            out.append({"username": u.username, "display_name": u.display_name, "org_code": u.org_code,
                        "assigned": u.username in assigned})
    return out


def unassign_worker(session: Session, principal: Principal, grid_code: str, username: str) -> None:
    """Remove a grid worker from a grid. Audited."""
    authorize(principal, "grid.assign")
    grid = _grid_row(session, grid_code)
    row = session.execute(select(GridAssignment).where(GridAssignment.grid_code == grid.code,
                                                       GridAssignment.username == username)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"网格员 {username} 未分配到网格 {grid.code}", code="not_assigned")
    session.delete(row)
    session.flush()
    audit.record(session, principal, "grid.unassign", "grid", grid.code, {"username": username})


# --------------------------------------------------------------------------- writing the layer


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


def _round_geometry_json(geom: BaseGeometry, ndigits: int = 6) -> str:
    geo = mapping(geom)

    def rnd(obj: Any) -> Any:
        if isinstance(obj, float):
            return round(obj, ndigits)
        if isinstance(obj, list | tuple):
            return [rnd(x) for x in obj]
        return obj

    return json.dumps({"type": geo["type"], "coordinates": rnd(geo["coordinates"])}, separators=(",", ":"))


def write_layer(session: Session, principal: Principal, comms: list[CommunitySpec], grids: list[GridSpec], *,
                mode: str, source: str, audit_detail: dict[str, Any]) -> LayerResult:
    """Replace (mode "replace") or upsert (mode "merge") the grid layer in the caller's transaction."""
    now = utcnow()
    new_codes = {g.code for g in grids}
    existing = set(session.execute(select(Grid.code)).scalars())
    kept = dropped = 0
    if mode == "replace":
        gone = existing - new_codes
        if gone:
            dropped = session.execute(select(func.count()).select_from(GridAssignment)
                                      .where(GridAssignment.grid_code.in_(gone))).scalar_one()
            for chunk in _chunks(sorted(gone), 500):
                session.execute(delete(GridAssignment).where(GridAssignment.grid_code.in_(chunk)))
                session.execute(delete(Grid).where(Grid.code.in_(chunk)))
        kept = session.execute(select(func.count()).select_from(GridAssignment)).scalar_one()
    # communities: upsert
    have = {c.code: c for c in session.execute(select(GridCommunity)).scalars()}
    new_comm_rows = []
    for c in comms:
        row = have.get(c.code)
        if row is None:
            new_comm_rows.append({"code": c.code, "name": c.name, "kind": c.kind, "street_code": c.code[:9],
                                  "district_code": c.code[:6], "generated": c.generated, "created_at": now})
        else:
            row.name, row.kind, row.generated = c.name, c.kind, c.generated
    if new_comm_rows:
        session.execute(insert(GridCommunity), new_comm_rows)
    # grids: update existing, insert new
    inserts = []
    for g in grids:
        geom = g.geometry
        centre = geom.representative_point() if not geom.centroid.within(geom) else geom.centroid
        values = {"name": g.name, "community_code": g.code[:12], "street_code": g.code[:9],
                  "district_code": g.code[:6], "geometry": _round_geometry_json(geom),
                  "area_km2": area_km2(geom), "centroid_lon": round(centre.x, 6), "centroid_lat": round(centre.y, 6),
                  "source": source, "updated_at": now}
        if g.code in existing:
            row = session.get(Grid, g.code)
            for k, v in values.items():
                setattr(row, k, v)
        else:
            inserts.append({"code": g.code, "created_at": now, **values})
    session.flush()
    for chunk in _chunks(inserts, 1000):
        session.execute(insert(Grid), chunk)
    # communities left without grids disappear
    used = select(Grid.community_code).distinct()
    session.execute(delete(GridCommunity).where(GridCommunity.code.not_in(used)))
    version = _bump_version(session)
    summary = layer_summary(session)
    result = LayerResult(version=version, districts=summary["districts"], streets=summary["streets"],
                         communities=summary["communities"], grids=summary["grids"],
                         area_km2=summary["area_km2"], assignments_kept=int(kept),
                         assignments_dropped=int(dropped), mode=mode, source=source)
    audit.record(session, principal, f"grid.{'generate' if source == 'generated' else 'import'}", "grid_layer",
                 version, {**audit_detail, "mode": mode, "grids_written": len(grids),
                           "grids_total": result.grids, "communities": result.communities,
                           "assignments_dropped": int(dropped)})
    return result


def _chunks(items: list, n: int):  # type: ignore[no-untyped-def]
    for i in range(0, len(items), n):
        yield items[i:i + n]


def import_geojson(session: Session, principal: Principal, data: bytes | str | dict, *,
                   mode: str = "replace", source_label: str = "") -> LayerResult:
    """Import grids from a GeoJSON FeatureCollection (see :mod:`citybase.grid.geojson_import`).

    Everything is validated before anything is written; any error raises ``BadInput`` naming
    the feature (第 N 个要素) and nothing is written.
    """
    from citybase.grid.geojson_import import parse_features
    from citybase.standards.crypto import sm3_hex

    authorize(principal, "grid.manage")
    if mode not in ("replace", "merge"):
        raise BadInput("导入方式只能是 replace（整体替换）或 merge（按编码合并）", code="bad_mode")
    raw = data if isinstance(data, bytes) else (data.encode("utf-8") if isinstance(data, str) else None)
    existing = {}
    if mode == "merge":
        existing = {c.code: (c.name, c.kind) for c in session.execute(select(GridCommunity)).scalars()}
        other = session.execute(select(Grid.code, Grid.geometry)).all()
    else:
        other = []
    comms, grids = parse_features(data, city_code=_city(), existing_communities=existing,
                                  other_grids=[(c, g) for c, g in other])
    detail = {"source": source_label[:200], "features": len(grids)}
    if raw is not None:
        detail["sm3"] = sm3_hex(raw)
    return write_layer(session, principal, comms, grids, mode=mode, source="import", audit_detail=detail)


def generate(session: Session, principal: Principal, *, seed: int = 2026, target_km2: float = DEFAULT_TARGET_KM2,
             district_codes: Sequence[str] | None = None, progress: Any = None) -> LayerResult:
    """Tile the city's real district boundaries into demo grids (see :mod:`citybase.grid.generator`).

    Replaces the whole grid layer. Community names are generated (marked ``generated``).
    """
    from citybase.grid.generator import generate_layout

    authorize(principal, "grid.manage")
    if not (0.05 <= float(target_km2) <= 20):
        raise BadInput("目标网格面积须在 0.05～20 平方公里之间", code="bad_target_area",
                       detail={"target_km2": target_km2})
    known = district_names()
    unknown = [c for c in (district_codes or []) if c not in known]
    if unknown:
        raise BadInput(f"不是本市现行的区（县级市）代码：{'、'.join(unknown)}", code="unknown_district",
                       detail={"allowed": sorted(known)})
    layout = generate_layout(_city(), seed=int(seed), target_km2=float(target_km2),
                             district_codes=district_codes, progress=progress)
    comms = [CommunitySpec(c.code, c.name, c.kind, True) for c in layout.communities]
    grids = [GridSpec(g.code, g.name, g.geometry) for g in layout.grids]
    return write_layer(session, principal, comms, grids, mode="replace", source="generated",
                       audit_detail={"seed": int(seed), "target_km2": float(target_km2),
                                     "method": "voronoi-kmeans"})
