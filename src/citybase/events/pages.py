"""Pages of 一网统管: operator board, unit inbox, intake forms (hotline, grid worker, 随手拍),
order detail with its actions, statistics and the hotspot map."""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from citybase.config import get_settings
from citybase.core import ratelimit
from citybase.core.errors import BadInput, CitybaseError
from citybase.core.identity.principal import Principal
from citybase.core.time import utcnow
from citybase.db import make_session, session_scope
from citybase.events import service
from citybase.events.schemas import FormActionIn, PhotoIn, ProblemTypeIn, intake_in
from citybase.grid import service as grid
from citybase.reference import divisions
from citybase.web import flash
from citybase.web.security import client_ip, public, requires
from citybase.web.templating import render

router = APIRouter(prefix="/events", include_in_schema=False)

MAX_PHOTOS = 6


# ---------------------------------------------------------------- helpers

async def _photos(form: Any) -> list[PhotoIn]:
    out = []
    for f in form.getlist("photos"):
        if not isinstance(f, UploadFile) or not f.filename:
            continue
        data = await f.read(service.MAX_PHOTO_BYTES + 1)
        out.append(PhotoIn(filename=f.filename, content=data))
    if len(out) > MAX_PHOTOS:
        raise BadInput(f"一次最多上传 {MAX_PHOTOS} 张照片", code="too_many_photos")
    return out


def _float(value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise BadInput("经纬度必须是数字", code="bad_point") from exc


def _types(s: Any) -> list[Any]:
    return service.list_problem_types(s)


def _ctx(s: Any) -> dict[str, Any]:
    return {"labels": service.STATUS_LABELS, "channels": service.CHANNEL_LABELS, "orgs": service.org_names(s),
            "now": utcnow()}


PUBLIC_PER_MINUTE = 5  # 随手拍 submissions per client address and minute


# ---------------------------------------------------------------- board, inbox, list

@router.get("", response_class=HTMLResponse)
def home(request: Request, principal: Principal = Depends(requires("events.read"))) -> Response:
    if not principal.can("events.dispatch"):
        return RedirectResponse("/events/inbox", status_code=303)
    with make_session() as s:
        board = service.board(s, principal)
        counts = service.counts_by_status(s, principal)
        return render(request, "events/board.html", {"board": board, "counts": counts, **_ctx(s)})


@router.get("/inbox", response_class=HTMLResponse)
def inbox(request: Request, principal: Principal = Depends(requires("events.read"))) -> Response:
    with make_session() as s:
        return render(request, "events/inbox.html", {"inbox": service.inbox(s, principal), **_ctx(s)})


@router.get("/orders", response_class=HTMLResponse)
def orders(request: Request, status: str = "", q: str = "", page: int = 1,
           principal: Principal = Depends(requires("events.read"))) -> Response:
    with make_session() as s:
        p = service.list_orders(s, principal, status=status.split(",") if status else None, q=q or None,
                                page=page, size=50)
        return render(request, "events/orders.html", {"page": p, "status": status, "q": q, **_ctx(s)})


# ---------------------------------------------------------------- intake

@router.get("/new", response_class=HTMLResponse)
def new_form(request: Request, principal: Principal = Depends(requires("events.intake"))) -> Response:
    with make_session() as s:
        return render(request, "events/new.html", {"types": _types(s), "form": {}})


@router.post("/new", response_class=HTMLResponse)
async def new_submit(request: Request, principal: Principal = Depends(requires("events.intake"))) -> Response:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    description = values.get("description", "").strip()
    type_code = values.get("type_code") or None
    accepted = False
    if not type_code and values.get("dispatch_now"):  # “采用系统推荐”: the operator accepted the top suggestion
        with make_session() as s:
            active = {t.code for t in _types(s)}
        top = [c for c, _p in (service.suggest_types(description, 3) if description else []) if c in active]
        type_code, accepted = (top[0], True) if top else (None, False)
    try:
        data = intake_in(channel="hotline", description=description or " ", type_code=type_code,
                         lon=_float(values.get("lon")), lat=_float(values.get("lat")),
                         address=values.get("address") or None, address_unknown=bool(values.get("address_unknown")),
                         reporter_name=values.get("reporter_name") or None,
                         reporter_phone=values.get("reporter_phone") or None, auto_dispatch=False)
        notes: list[tuple[str, bool]] = []  # (text, is a warning)
        with session_scope() as s:
            place = service.locate(s, data.lon, data.lat, data.address)
            out = service.intake(s, principal, data)
            if values.get("dispatch_now"):
                if out.type_code:
                    try:
                        with s.begin_nested():
                            service.dispatch(s, principal, out.number)
                        notes.append(("已按派单目录派单" + ("（采用系统推荐的问题类型）" if accepted else ""), False))
                    except CitybaseError as err:
                        notes.append((f"未能立即派单：{err.message}", True))
                else:
                    notes.append(("未能立即派单：系统没有推荐出问题类型，请在工单页选择类型后派单", True))
        if data.address_unknown and not out.district_code:
            notes.append(("地址不详，工单已标记，请分拨时确认位置", True))
        elif place.warning:
            notes.append((place.warning, True))
        message = "；".join([f"已受理，工单号 {out.number}", *(n for n, _ in notes)])
        return flash.redirect(f"/events/orders/{out.number}", message,
                              "warn" if any(w for _, w in notes) else "ok")
    except CitybaseError as err:
        with make_session() as s:
            return render(request, "events/new.html", {"types": _types(s), "form": values, "flash": err.message,
                                                       "flash_kind": "err"}, status_code=err.status_code)


@router.get("/addresses", response_class=HTMLResponse)
def addresses(request: Request, address: str = "", principal: Principal = Depends(requires("events.intake"))) -> Response:
    """htmx fragment: the standard addresses matching what was typed, as the address field's datalist."""
    with make_session() as s:
        found = service.address_suggestions(s, address[:100])
    return render(request, "events/_addresses.html", {"found": found})


@router.get("/suggest", response_class=HTMLResponse)
def suggest(request: Request, description: str = "", lon: str = "", lat: str = "", address: str = "",
            principal: Principal = Depends(requires("events.intake"))) -> Response:
    """htmx fragment: suggested types, the place and possible duplicates."""
    with make_session() as s:
        names = {t.code: t.name for t in _types(s)}
        sugg = [(c, names.get(c, c), p) for c, p in service.suggest_types(description, 3)] if description.strip() else []
        place, place_err, dups = None, None, []
        try:
            place = service.locate(s, _float(lon), _float(lat), address or None)
        except CitybaseError as err:
            place_err = err.message
        plon, plat = (_float(lon), _float(lat)) if lon and lat else (place.lon, place.lat) if place else (None, None)
        if sugg and plon is not None and plat is not None:
            dups = service.find_duplicates(s, sugg[0][0], plon, plat)
        return render(request, "events/_suggest.html", {"sugg": sugg, "place": place, "place_err": place_err,
                                                        "dups": dups, "orgs": service.org_names(s), "lon": lon})


@router.get("/report", response_class=HTMLResponse)
def report_form(request: Request, principal: Principal = Depends(requires("events.intake"))) -> Response:
    with make_session() as s:
        return render(request, "events/report.html", {"types": _types(s), "mode": "grid"})


@router.post("/report", response_class=HTMLResponse)
async def report_submit(request: Request, principal: Principal = Depends(requires("events.intake"))) -> Response:
    form = await request.form()
    try:
        data = intake_in(channel="grid" if principal.role == "grid_worker" else "hotline",
                         description=str(form.get("description") or "").strip() or " ",
                         type_code=str(form.get("type_code") or "") or None, lon=_float(form.get("lon")),
                         lat=_float(form.get("lat")), address=str(form.get("address") or "") or None,
                         photos=await _photos(form))
        with session_scope() as s:
            out = service.intake(s, principal, data)
        return flash.redirect("/events/report", f"上报成功，工单号 {out.number}")
    except CitybaseError as err:
        return flash.redirect("/events/report", err.message, "err")


@router.get("/public", response_class=HTMLResponse)
def public_form(request: Request, principal: Principal = Depends(public)) -> Response:
    with make_session() as s:
        return render(request, "events/report.html", {"types": _types(s), "mode": "public"})


@router.post("/public", response_class=HTMLResponse)
async def public_submit(request: Request, principal: Principal = Depends(public)) -> Response:
    """随手拍: anonymous, CSRF-protected (the form carries the token), rate-limited per address."""
    ratelimit.hit(f"events.public:{client_ip(request)}", PUBLIC_PER_MINUTE).raise_if_exceeded(
        f"提交过于频繁：每分钟最多 {PUBLIC_PER_MINUTE} 次，请稍后再试")
    form = await request.form()
    try:
        data = intake_in(channel="public", description=str(form.get("description") or "").strip() or " ",
                         type_code=str(form.get("type_code") or "") or None, lon=_float(form.get("lon")),
                         lat=_float(form.get("lat")), address=str(form.get("address") or "") or None,
                         reporter_phone=str(form.get("phone") or "")[:20] or None, photos=await _photos(form))
        with session_scope() as s:
            out = service.intake(s, principal, data)
        note = "，可凭编号和手机号后四位在“进度查询”查看办理进度" if data.reporter_phone else \
            "（未留手机号，无法在线查询进度，可拨打 12345 询问）"
        return flash.redirect("/events/public", f"感谢您的反映！受理编号 {out.number}{note}。")
    except CitybaseError as err:
        return flash.redirect("/events/public", err.message, "err")


TRACK_PER_MINUTE = 10


@router.get("/track", response_class=HTMLResponse)
def track(request: Request, number: str = "", phone4: str = "", principal: Principal = Depends(public)) -> Response:
    """进度查询 for citizens: order number + last four digits of the phone given at reporting."""
    result, message = None, ""
    if number or phone4:
        ratelimit.hit(f"events.track:{client_ip(request)}", TRACK_PER_MINUTE).raise_if_exceeded(
            f"查询过于频繁：每分钟最多 {TRACK_PER_MINUTE} 次，请稍后再试")
        try:
            with make_session() as s:
                result = service.track(s, number[:40], phone4[:8])
        except CitybaseError as err:
            message = err.message
    return render(request, "events/track.html", {"result": result, "number": number[:40], "flash": message,
                                                  "flash_kind": "err"}, status_code=404 if message else 200)


# ---------------------------------------------------------------- detail and actions

@router.get("/orders/{number}", response_class=HTMLResponse)
def detail(request: Request, number: str, principal: Principal = Depends(requires("events.read"))) -> Response:
    return _detail(request, number, principal)


def _detail(request: Request, number: str, principal: Principal, phone: str | None = None) -> Response:
    with make_session() as s:
        order = service.get_order(s, principal, number)
        district = order.district_code or ""
        orgs = service.org_names(s)
        units = [c for c in orgs if district and (c.startswith(district) and c != district)] if district else []
        units += [c for c in orgs if c.startswith(get_settings().city_code + "-")]
        default_unit = None
        if order.status in (service.RECEIVED, service.TRIAGED, service.REOPENED):
            row = service.get_order_row(s, principal, number)
            default_unit, _ = service.resolve_units(s, row, row.type_code or row.suggested_type)
        actors = {e.actor for e in order.timeline}
        names = service.actor_names(s, actors)
        grid_names = {}
        if order.grid_code:
            with contextlib.suppress(CitybaseError):
                g = grid.get_grid(s, order.grid_code)
                grid_names[g.code] = "".join(x for x in (g.community_name, g.name) if x) or g.code
        return render(request, "events/detail.html", {
            "o": order, "actor_names": names, "type_names": {t.code: t.name for t in _types(s)}, "types": _types(s), "units": units, "default_unit": default_unit, "phone": phone,
            "is_handler": principal.can("events.handle") and principal.org_code == order.main_unit,
            "is_verifier": principal.can("events.verify"), "is_operator": principal.can("events.dispatch"),
            "sla_text": service.sla_text(order.sla), "action_labels": service.ACTION_LABELS,
            "level_labels": service.LEVEL_LABELS, "grid_names": grid_names, **_ctx(s)})


@router.post("/orders/{number}/act", response_class=HTMLResponse)
async def act(request: Request, number: str, principal: Principal = Depends(requires("events.read"))) -> Response:
    """Every button on the detail page posts here; the service checks the role of each action."""
    form = await request.form()
    f = {k: v for k, v in form.items() if isinstance(v, str)}
    action = f.get("action", "")
    url = f"/events/orders/{number}"
    try:
        photos = await _photos(form) if action == "feedback" else []
        with session_scope() as s:
            service.act(s, principal, number, action, FormActionIn(
                reason=f.get("reason", ""), note=f.get("reply") if action == "answer" else f.get("note", ""),
                type_code=f.get("type_code") or None, main_unit=f.get("main_unit") or None,
                assist_units=[u for u in form.getlist("assist_units") if isinstance(u, str) and u],
                master_number=f.get("master_number", ""), result=f.get("result", ""),
                amount=float(f.get("amount") or 0) if action == "extension_request" else None, photos=photos))
        done = {"triage_dispatch": "派单", "callback": "登记回访结果"}.get(action) or service.ACTION_LABELS.get(action, "")
        return flash.redirect(url, f"已{done}" if done else "操作完成")
    except ValueError:
        return flash.redirect(url, "延期时长必须是数字", "err")
    except CitybaseError as err:
        return flash.redirect(url, err.message, "err")


@router.post("/orders/{number}/reveal", response_class=HTMLResponse)
def reveal(request: Request, number: str, principal: Principal = Depends(requires("events.callback"))) -> Response:
    with session_scope() as s:
        phone = service.reveal_phone(s, principal, number)
    return _detail(request, number, principal, phone=phone)


@router.get("/photos/{photo_id}")
def photo(photo_id: int, principal: Principal = Depends(requires("events.read"))) -> Response:
    with make_session() as s:
        path, ctype = service.photo_file(s, principal, photo_id)
    return FileResponse(path, media_type=ctype, headers={"Cache-Control": "private, max-age=3600"})


# ---------------------------------------------------------------- figures and maps

GROUP_LABELS = {"district": "区（市）", "street": "街道（镇）", "unit": "承办单位", "type": "问题类型"}


@router.get("/stats", response_class=HTMLResponse)
def stats(request: Request, by: str = "district", principal: Principal = Depends(requires("events.stats"))) -> Response:
    if by not in GROUP_LABELS:
        by = "district"
    with make_session() as s:
        rows = service.stats(s, principal, by)
        counts = service.counts_by_status(s, principal)
    return render(request, "events/stats.html", {"rows": rows, "by": by, "groups": GROUP_LABELS, "counts": counts,
                                                 "labels": service.STATUS_LABELS})


@router.get("/map", response_class=HTMLResponse)
def hotspot_map(request: Request, days: int = 30, principal: Principal = Depends(requires("events.stats"))) -> Response:
    days = max(1, min(days, 365))
    with make_session() as s:
        points = service.hotspots(s, principal, days=days)
        by_grid = service.open_orders_by_grid(s)
    return render(request, "events/map.html", {"points": points, "days": days, "by_grid": by_grid})


@router.get("/geo/districts.json")
def districts_geojson(principal: Principal = Depends(requires("events.read"))) -> Response:
    text = divisions.boundaries_geojson_text(get_settings().city_code, "district", 0.0005, 4)
    return Response(text, media_type="application/json", headers={"Cache-Control": "public, max-age=86400"})


@router.get("/geo/grids.json")
def grids_geojson(district: str | None = None, principal: Principal = Depends(requires("events.stats"))) -> Response:
    with make_session() as s:
        text = grid.grids_geojson_text(s, district)
    return Response(text, media_type="application/json")


# ---------------------------------------------------------------- administration

@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request, principal: Principal = Depends(requires("events.admin"))) -> Response:
    with make_session() as s:
        return render(request, "events/admin.html", {"types": service.list_problem_types(s, active_only=False),
                                                     "rules": service.list_dispatch_rules(s),
                                                     "orgs": service.org_names(s)})


@router.post("/admin/types", response_class=HTMLResponse)
async def admin_type(request: Request, principal: Principal = Depends(requires("events.admin"))) -> Response:
    f = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        with session_scope() as s:
            current = service.find_problem_type(s, f.get("code", ""))
            base = {"code": f.get("code", ""), "name": f.get("name") or (current.name if current else ""),
                    "kind": f.get("kind") or (current.kind if current else "事件"),
                    "major_code": current.major_code if current else "", "major_name": current.major_name if current else "",
                    "minor_name": current.minor_name if current else f.get("name", ""),
                    "default_unit_key": f.get("default_unit_key", current.default_unit_key if current else ""),
                    "sla_unit": f.get("sla_unit", "work_hours"), "sign_in": float(f.get("sign_in") or 0),
                    "handle": float(f.get("handle") or 0), "warn_ratio": float(f.get("warn_ratio") or 0.8)}
            service.save_problem_type(s, principal, ProblemTypeIn(**base))
        return flash.redirect("/events/admin", f"已保存 {base['code']} 的处置时限（仅对新工单生效）")
    except (ValueError, CitybaseError) as err:
        return flash.redirect("/events/admin", getattr(err, "message", None) or "时限必须为大于 0 的数字", "err")


@router.post("/admin/rules", response_class=HTMLResponse)
async def admin_rule(request: Request, principal: Principal = Depends(requires("events.admin"))) -> Response:
    f = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        with session_scope() as s:
            service.add_dispatch_rule(s, principal, type_code=f.get("type_code") or None,
                                      area_code=f.get("area_code") or None, main_unit=f.get("main_unit", ""),
                                      assist_units=[u.strip() for u in f.get("assist_units", "").split(",")])
        return flash.redirect("/events/admin", "已添加派单规则")
    except CitybaseError as err:
        return flash.redirect("/events/admin", err.message, "err")


@router.post("/admin/rules/{rule_id}/delete", response_class=HTMLResponse)
def admin_rule_delete(rule_id: int, principal: Principal = Depends(requires("events.admin"))) -> Response:
    with session_scope() as s:
        service.delete_dispatch_rule(s, principal, rule_id)
    return flash.redirect("/events/admin", "已删除派单规则")


@router.post("/admin/seed", response_class=HTMLResponse)
def admin_seed(principal: Principal = Depends(requires("events.admin"))) -> Response:
    with session_scope() as s:
        n = service.seed_problem_types(s, principal)
    return flash.redirect("/events/admin", f"已导入 {n} 个问题类型")
