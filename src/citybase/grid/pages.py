"""Grid pages (thin): the grid map with grid details, workers and open work orders."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from citybase.core.errors import BadInput, CitybaseError
from citybase.core.identity.principal import Principal
from citybase.db import make_session, session_scope
from citybase.grid import service
from citybase.grid.views import MAX_IMPORT_BYTES
from citybase.reference import divisions
from citybase.web.security import requires
from citybase.web.templating import render

router = APIRouter(include_in_schema=False)


def _page(request: Request, principal: Principal, district: str | None = None, flash: str | None = None,
          flash_kind: str = "ok", errors: list[dict] | None = None, status_code: int = 200) -> Response:
    profile = divisions.city_profile(service.city_code())
    if district and district not in profile.district_codes:
        district = None
    with make_session() as s:
        summary = service.layer_summary(s)
        orders_enabled = service.open_orders_by_grid(s) is not None
    return render(request, "grid/map.html", {
        "summary": summary, "districts": profile.districts, "district": district or "",
        "city_name": profile.name, "orders_enabled": orders_enabled, "note": service.NAME_NOTE,
        "can_assign": principal.can("grid.assign"), "can_manage": principal.can("grid.manage"),
        "default_target": service.DEFAULT_TARGET_KM2, "flash": flash, "flash_kind": flash_kind,
        "errors": errors or [],
    }, status_code=status_code)


@router.get("/grid", response_class=HTMLResponse)
def grid_map(request: Request, district: str | None = None,
             principal: Principal = Depends(requires("grid.read"))) -> Response:
    return _page(request, principal, district)


@router.post("/grid/import", response_class=HTMLResponse)
async def grid_import(request: Request, file: UploadFile = File(...), mode: str = Form("replace"),
                      principal: Principal = Depends(requires("grid.manage"))) -> Response:
    data = await file.read(MAX_IMPORT_BYTES + 1)
    try:
        if len(data) > MAX_IMPORT_BYTES:
            raise BadInput("GeoJSON 文件过大（上限 50 MB）", code="payload_too_large")
        if not data:
            raise BadInput("没有选择文件，或文件为空", code="empty_file")
        with session_scope() as s:
            result = service.import_geojson(s, principal, data, mode=mode, source_label=file.filename or "")
    except CitybaseError as exc:
        return _page(request, principal, flash=exc.message, flash_kind="err",
                     errors=exc.detail.get("errors", []), status_code=exc.status_code)
    return _page(request, principal, flash=f"导入完成：共 {result.grids} 个网格、{result.communities} 个社区/村"
                 f"（移除的网格员分配 {result.assignments_dropped} 条）")


@router.post("/grid/generate", response_class=HTMLResponse)
def grid_generate(request: Request, seed: int = Form(2026), target_km2: float = Form(service.DEFAULT_TARGET_KM2),
                  principal: Principal = Depends(requires("grid.manage"))) -> Response:
    try:
        with session_scope() as s:
            result = service.generate(s, principal, seed=seed, target_km2=target_km2)
    except CitybaseError as exc:
        return _page(request, principal, flash=exc.message, flash_kind="err", status_code=exc.status_code)
    return _page(request, principal, flash=f"已生成演示网格：{result.grids} 个网格、{result.communities} 个社区/村，"
                 f"覆盖 {result.area_km2} 平方公里")
