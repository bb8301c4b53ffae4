"""Writing the layer: validated GeoJSON imports (replace or merge) and generated demo layers, all or nothing."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from citybase.core.audit import service as audit
from citybase.core.errors import BadInput
from citybase.core.identity.principal import Principal, authorize
from citybase.core.time import utcnow
from citybase.grid.models import Grid, GridAssignment, GridCommunity
from citybase.grid.schemas import (
    LayerResult,
)
from citybase.grid.service.geojson import parse_features
from citybase.grid.service.layer import (
    DEFAULT_TARGET_KM2,
    CommunitySpec,
    GridSpec,
    _bump_version,
    _city,
    area_km2,
    district_names,
    layer_summary,
)


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
    """Import grids from a GeoJSON FeatureCollection (see :mod:`citybase.grid.service.geojson`).

    Everything is validated before anything is written; any error raises ``BadInput`` naming
    the feature (第 N 个要素) and nothing is written.
    """
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
