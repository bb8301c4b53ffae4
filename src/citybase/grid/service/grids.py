"""Reading grids: one with its workers and geometry, lists, communities, the layer summary, GeoJSON, the overlays other modules offer."""

from __future__ import annotations

import json
from collections import OrderedDict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citybase import hooks
from citybase.core.errors import NotFound
from citybase.core.pagination import paginate
from citybase.grid.models import Grid, GridAssignment, GridCommunity
from citybase.grid.schemas import (
    AssignmentOut,
    CommunityOut,
    GridDetail,
    GridOut,
    GridPage,
)
from citybase.grid.service.layer import _CACHE_LOCK, NAME_NOTE, district_names, layer_version, street_names
from citybase.hooks import MapOverlay


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
    paged = paginate(session, stmt.order_by(Grid.code), int(page), int(size))
    rows = paged.items
    comms = {c.code: c for c in session.execute(
        select(GridCommunity).where(GridCommunity.code.in_({r.community_code for r in rows}))).scalars()}
    workers: dict[str, list[str]] = {}
    for g, u in session.execute(select(GridAssignment.grid_code, GridAssignment.username)
                                .where(GridAssignment.grid_code.in_([r.code for r in rows]))
                                .order_by(GridAssignment.username)):
        workers.setdefault(g, []).append(u)
    streets, dists = street_names(), district_names()
    return GridPage(items=[_grid_out(r, comms.get(r.community_code), workers.get(r.code, []), streets, dists)
                           for r in rows], total=paged.total, page=paged.page, size=paged.size)


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


def overlays(session: Session) -> dict[str, MapOverlay]:
    """The figures other modules offer to colour the map by (``grid_map_overlays`` hook), by key."""
    found = [o for o in hooks.relay().grid_map_overlays(session=session) if o is not None]
    return {o.key: o for o in found[::-1]}  # module order; pluggy answers last module first


def open_orders_by_grid(session: Session) -> dict[str, int] | None:
    """Open work orders per grid code, offered by the events module's overlay; None without it."""
    overlay = overlays(session).get("open_orders")
    return None if overlay is None else {str(k): int(v) for k, v in overlay.counts.items()}
