"""HTML pages: overview map, device list and page (live chart), alarm board, 太湖蓝藻 monitoring."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from citybase.core.errors import CitybaseError
from citybase.core.identity import service as identity
from citybase.core.identity.principal import Principal
from citybase.db import make_session, session_scope
from citybase.iot import service
from citybase.iot.schemas import SEVERITY_LABELS, STATUS_LABELS, DeviceIn
from citybase.standards.units import unit_label
from citybase.web import flash
from citybase.web.security import requires
from citybase.web.templating import env, render

router = APIRouter(include_in_schema=False)

def _num(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else f"{value:.4g}"


env.filters.setdefault("iot_unit", unit_label)
env.filters.setdefault("iot_num", _num)

STATE_LABELS = {"online": "在线", "offline": "离线", "alarm": "告警", "never": "未上线", "revoked": "已吊销"}
FLASH = {"ack": "告警已确认", "clear": "告警已清除", "revoked": "设备凭据已吊销", "activated": "设备已重新启用",
         "attrs": "共享属性已保存"}
TAIHU_QUANTITIES = [("chla", "叶绿素a", "μg/L"), ("pc", "藻蓝素", "μg/L"), ("do", "溶解氧", "mg/L"),
                    ("wt", "水温", "℃")]


def _district_names() -> dict[str, str]:
    from citybase.reference.divisions import city_profile

    return {d.code: d.name for d in city_profile().districts}


@router.get("/iot/geo/districts.json")
def districts_geojson(principal: Principal = Depends(requires("iot.read"))) -> Response:
    from citybase.reference.divisions import boundaries_geojson_text

    return Response(boundaries_geojson_text(), media_type="application/json",
                    headers={"Cache-Control": "max-age=3600"})


@router.get("/iot", response_class=HTMLResponse)
def overview(request: Request, profile: str | None = None,
             principal: Principal = Depends(requires("iot.read"))) -> Response:
    with make_session() as s:
        profiles = service.list_profiles(s)
        points = service.map_points(s, profile)
        counts = service.alarm_counts(s)
        recent = service.list_alarms(s, status="active", limit=8)
    states: dict[str, int] = defaultdict(int)
    for p in points:
        states[p["state"]] += 1
    return render(request, "iot/index.html", {
        "profiles": profiles, "profile": profile, "points": points, "states": dict(states),
        "state_labels": STATE_LABELS, "counts": counts, "severity_labels": SEVERITY_LABELS, "recent": recent,
        "total": len(points)})


@router.get("/iot/devices", response_class=HTMLResponse)
def devices_page(request: Request, profile: str | None = None, district: str | None = None, q: str | None = None,
                 state: str | None = None, page: int = Query(1, ge=1),
                 principal: Principal = Depends(requires("iot.read"))) -> Response:
    size = 50
    with make_session() as s:
        listed = service.list_devices(s, profile=profile or None, district_code=district or None, q=q or None,
                                      state=state or None, page=page, size=size)
        items, total = listed.items, listed.total
        profiles = service.list_profiles(s)
    return render(request, "iot/devices.html", {
        "items": items, "total": total, "page": page, "pages": max(1, -(-total // size)), "profiles": profiles,
        "profile": profile or "", "district": district or "", "q": q or "", "state": state or "",
        "districts": _district_names(), "state_labels": STATE_LABELS,
        "can_manage": principal.can("iot.manage")})


@router.post("/iot/devices", response_class=HTMLResponse)
def device_create(request: Request, profile: str = Form(...), code: str = Form(...), name: str = Form(""),
                  lon: float = Form(...), lat: float = Form(...), address: str = Form(""), org_code: str = Form(""),
                  principal: Principal = Depends(requires("iot.manage"))) -> Response:
    try:
        with session_scope() as s:
            out, token = service.create_device(s, principal, DeviceIn(
                code=code.strip(), name=name.strip(), profile=profile, lon=lon, lat=lat, address=address.strip(),
                org_code=org_code.strip() or None))
    except CitybaseError as exc:
        return _devices_with(request, principal, flash=f"登记失败：{exc.message}", kind="err")
    return _devices_with(request, principal, flash=f"已登记设备 {out.code}（{out.name}）", new_token=token,
                         new_code=out.code)


@router.post("/iot/devices/import", response_class=HTMLResponse)
async def device_import(request: Request, file: UploadFile = File(...), profile: str = Form(""),
                        principal: Principal = Depends(requires("iot.manage"))) -> Response:
    suffix = Path(file.filename or "").suffix.lower()
    content = await file.read()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"import{suffix}"
            path.write_bytes(content)
            with session_scope() as s:
                pairs = service.import_devices(s, principal, path, default_profile=profile or None)
    except CitybaseError as exc:
        errors = (exc.detail or {}).get("errors") or []
        return _devices_with(request, principal, flash=f"导入失败：{exc.message}", kind="err", import_errors=errors)
    return _devices_with(request, principal, flash=f"已导入 {len(pairs)} 台设备；令牌只显示这一次，请立即保存",
                         imported=pairs)


def _devices_with(request: Request, principal: Principal, **ctx: Any) -> Response:
    with make_session() as s:
        listed = service.list_devices(s, size=50)
        items, total = listed.items, listed.total
        profiles = service.list_profiles(s)
    kind = ctx.pop("kind", "ok")
    message = ctx.pop("flash", None)
    return render(request, "iot/devices.html", {
        "items": items, "total": total, "page": 1, "pages": max(1, -(-total // 50)), "profiles": profiles,
        "profile": "", "district": "", "q": "", "state": "", "districts": _district_names(),
        "state_labels": STATE_LABELS, "can_manage": principal.can("iot.manage"), "flash": message,
        "flash_kind": kind, **ctx}, status_code=422 if kind == "err" else 200)


@router.get("/iot/devices/{code}", response_class=HTMLResponse)
def device_page(request: Request, code: str,
                principal: Principal = Depends(requires("iot.read"))) -> Response:
    with make_session() as s:
        d = service.get_device(s, code)
        out = service.device_out(s, d)
        prof = service.profile_out(s, out.profile)
        latest = service.latest(s, d.id)
        attrs = service.attributes(s, d.id)
        alarms = service.list_alarms(s, status=None, device_id=d.id, limit=50)
        org = identity.find_org(s, out.org_code) if out.org_code else None
    quantities = [q.model_dump() for q in prof.quantities]
    return render(request, "iot/device.html", {
        "org_names": {out.org_code: org.name} if org else {},
        "d": out, "profile": prof, "latest": latest, "attrs": attrs, "alarms": alarms, "quantities": quantities,
        "state_labels": STATE_LABELS, "districts": _district_names(),
        "can_manage": principal.can("iot.manage"), "can_alarm": principal.can("iot.alarm"),
        "rules": prof.rules})


@router.post("/iot/devices/{code}/status")
def device_status(code: str, status: str = Form(...),
                  principal: Principal = Depends(requires("iot.manage"))) -> Response:
    with session_scope() as s:
        service.set_status(s, principal, code, status)
    return flash.redirect(f"/iot/devices/{quote(code)}", FLASH["revoked" if status == "revoked" else "activated"])


@router.post("/iot/devices/{code}/token", response_class=HTMLResponse)
def device_rotate(request: Request, code: str, principal: Principal = Depends(requires("iot.manage"))) -> Response:
    with session_scope() as s:
        token = service.rotate_token(s, principal, code)
    resp = device_page(request, code, None, principal)
    body = resp.body.decode().replace("<!--new-token-->", f'<div class="flash ok">已生成新令牌（只显示这一次）：'
                                      f'<div class="secret" id="new-token">{token}</div></div>')
    return HTMLResponse(body)


@router.post("/iot/devices/{code}/attributes")
def device_attributes(code: str, key: str = Form(...), value: str = Form(...),
                      principal: Principal = Depends(requires("iot.manage"))) -> Response:
    import json

    try:
        parsed: Any = json.loads(value)
    except ValueError:
        parsed = value
    with session_scope() as s:
        service.set_attributes(s, principal, code, "shared", {key.strip(): parsed})
    return flash.redirect(f"/iot/devices/{quote(code)}", FLASH["attrs"])


@router.get("/iot/alarms", response_class=HTMLResponse)
def alarms_page(request: Request, status: str = "active", severity: str | None = None,
                principal: Principal = Depends(requires("iot.read"))) -> Response:
    with make_session() as s:
        alarms = service.list_alarms(s, status=status or None, severity=severity or None, limit=300)
        counts = service.alarm_counts(s)
    return render(request, "iot/alarms.html", {
        "alarms": alarms, "status": status, "severity": severity or "", "counts": counts,
        "severity_labels": SEVERITY_LABELS, "status_labels": STATUS_LABELS,
        "can_alarm": principal.can("iot.alarm")})


@router.post("/iot/alarms/{alarm_id}/{action}")
def alarm_action(alarm_id: int, action: str, back: str = Form("/iot/alarms"),
                 principal: Principal = Depends(requires("iot.alarm"))) -> Response:
    with session_scope() as s:
        if action == "ack":
            service.acknowledge(s, principal, alarm_id)
        elif action == "clear":
            service.clear(s, principal, alarm_id)
        else:
            raise CitybaseError("未知操作", code="unknown_action", status_code=404)
    target = back if back.startswith("/iot") else "/iot/alarms"
    return flash.redirect(target, FLASH[action])


@router.get("/iot/taihu", response_class=HTMLResponse)
def taihu(request: Request, hours: int = Query(72, ge=6, le=24 * 30),
          principal: Principal = Depends(requires("iot.read"))) -> Response:
    """太湖蓝藻 monitoring: buoys on the lake, latest values per site, hourly trends."""
    with session_scope() as s:  # hourly series refresh the buoys' roll-ups first
        sites, has_profile = service.taihu_sites(s, hours, [k for k, _l, _u in TAIHU_QUANTITIES])
    from citybase.reference.divisions import city_data

    water = (city_data().get("demo", {}).get("exclude_wgs84") or [[]])[0]
    return render(request, "iot/taihu.html", {"sites": sites, "quantities": TAIHU_QUANTITIES,
                                              "hours": hours, "has_profile": has_profile, "water": water})
