"""Grid JSON API (thin): lookup, listing, GeoJSON, assignments, import and generation."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response

from citybase.core.errors import BadInput
from citybase.core.identity.principal import Principal
from citybase.db import make_session, session_scope
from citybase.grid import service
from citybase.grid.schemas import (
    AssignmentIn,
    AssignmentOut,
    CommunityOut,
    GridDetail,
    GridHit,
    GridPage,
    LayerResult,
)
from citybase.reference import divisions
from citybase.web.security import requires

router = APIRouter(prefix="/api/grid", tags=["grid 网格"])

MAX_IMPORT_BYTES = 50 * 1024 * 1024


@router.get("/locate", response_model=GridHit, summary="坐标定位到网格、社区、街道、区")
def locate(lon: str = Query(..., description="WGS84 经度"), lat: str = Query(..., description="WGS84 纬度"),
           principal: Principal = Depends(requires("grid.read"))) -> GridHit:
    x, y = service.check_lon_lat(lon, lat)
    with make_session() as s:
        return service.locate_or_error(s, x, y)


@router.get("/summary", summary="网格图层概况")
def summary(principal: Principal = Depends(requires("grid.read"))) -> dict:
    with make_session() as s:
        return service.layer_summary(s)


@router.get("/grids", response_model=GridPage, summary="网格列表")
def grids(district: str | None = None, street: str | None = None, community: str | None = None,
          q: str | None = None, worker: str | None = None, page: int = Query(1, ge=1),
          size: int = Query(50, ge=1, le=500),
          principal: Principal = Depends(requires("grid.read"))) -> GridPage:
    with make_session() as s:
        return service.list_grids(s, district_code=district, street_code=street, community_code=community, q=q,
                                  worker=worker, page=page, size=size)


@router.get("/grids/{code}", response_model=GridDetail, summary="网格详情（含网格员、未办结工单数）")
def grid(code: str, principal: Principal = Depends(requires("grid.read"))) -> GridDetail:
    with make_session() as s:
        return service.grid_detail(s, code)


@router.get("/grids/{code}/candidates", summary="可分配到该网格的网格员（所在街道/区的网格员账号）")
def candidates(code: str, principal: Principal = Depends(requires("grid.assign"))) -> list[dict]:
    with make_session() as s:
        return service.candidate_workers(s, code)


@router.post("/grids/{code}/workers", response_model=AssignmentOut, status_code=201, summary="分配网格员")
def assign(code: str, body: AssignmentIn, principal: Principal = Depends(requires("grid.assign"))) -> AssignmentOut:
    with session_scope() as s:
        return service.assign_worker(s, principal, code, body.username)


@router.delete("/grids/{code}/workers/{username}", status_code=204, summary="移除网格员")
def unassign(code: str, username: str, principal: Principal = Depends(requires("grid.assign"))) -> Response:
    with session_scope() as s:
        service.unassign_worker(s, principal, code, username)
    return Response(status_code=204)


@router.get("/communities", response_model=list[CommunityOut], summary="社区/村列表")
def communities(street: str | None = None,
                principal: Principal = Depends(requires("grid.read"))) -> list[CommunityOut]:
    with make_session() as s:
        return service.communities(s, street)


@router.get("/geojson", summary="网格 GeoJSON（WGS84）")
def geojson(district: str | None = None, principal: Principal = Depends(requires("grid.read"))) -> Response:
    with make_session() as s:
        text = service.grids_geojson_text(s, district)
    return Response(text, media_type="application/geo+json")


@router.get("/districts.geojson", summary="各区（县级市）边界 GeoJSON（WGS84）")
def districts_geojson(principal: Principal = Depends(requires("grid.read"))) -> Response:
    return Response(divisions.boundaries_geojson_text(service.city_code()), media_type="application/geo+json")


@router.post("/import", response_model=LayerResult, summary="导入网格 GeoJSON（整体替换或按编码合并）")
async def import_layer(request: Request, mode: str = Query("replace", pattern="^(replace|merge)$"),
                       principal: Principal = Depends(requires("grid.manage"))) -> LayerResult:
    body = await request.body()
    if not body:
        raise BadInput("请求体为空：请以 GeoJSON FeatureCollection 作为请求体", code="empty_body")
    if len(body) > MAX_IMPORT_BYTES:
        raise BadInput("GeoJSON 文件过大（上限 50 MB）", code="payload_too_large")
    with session_scope() as s:
        return service.import_geojson(s, principal, body, mode=mode, source_label="api")


@router.post("/generate", response_model=LayerResult, summary="按真实区界生成演示网格（整体替换）")
def generate(seed: int = Query(2026), target_km2: float = Query(service.DEFAULT_TARGET_KM2, gt=0),
             principal: Principal = Depends(requires("grid.manage"))) -> LayerResult:
    with session_scope() as s:
        return service.generate(s, principal, seed=seed, target_km2=target_km2)


@router.get("/open-orders", summary="各网格未办结工单数（工单模块未启用时为 null）")
def open_orders(principal: Principal = Depends(requires("grid.read"))) -> dict[str, int] | None:
    with make_session() as s:
        return service.open_orders_by_grid(s)
