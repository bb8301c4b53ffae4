"""Open311 GeoReport v2 at /open311/v2: discovery, services, service definitions, requests.

JSON and XML (``.json``/``.xml`` suffixes as the specification does); errors are Open311 error
arrays ``[{"code": 400, "description": "…"}]``. POST takes ``api_key`` = a citybase API token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from citybase import __version__
from citybase.core.errors import CitybaseError, NotAuthenticated, PermissionDenied
from citybase.core.identity import service as identity
from citybase.core.identity.principal import authorize
from citybase.core.time import SHANGHAI
from citybase.db import make_session, session_scope
from citybase.events import service
from citybase.events.models import ProblemType, WorkOrder
from citybase.events.schemas import intake_in

PREFIX = "/open311/v2"


async def open311_public() -> None:
    """Open311 is open by specification; POST is authorised by its ``api_key`` field alone (never by
    cookies), so there is nothing to forge cross-site and no CSRF token is asked."""


open311_public.cb_permission = "public"  # type: ignore[attr-defined]

router = APIRouter(prefix=PREFIX, tags=["Open311 GeoReport v2 市民诉求接口"], dependencies=[Depends(open311_public)])


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        self.status, self.description = status, description


# ---------------------------------------------------------------- rendering

def _xml(tag: str, value: Any, item_tags: dict[str, str]) -> str:
    if isinstance(value, list):
        child = item_tags.get(tag, "item")
        return f"<{tag}>" + "".join(_xml(child, v, item_tags) for v in value) + f"</{tag}>"
    if isinstance(value, dict):
        return f"<{tag}>" + "".join(_xml(k, v, item_tags) for k, v in value.items()) + f"</{tag}>"
    if value is None:
        return f"<{tag}/>"
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{tag}>{escape(str(value))}</{tag}>"


ITEM_TAGS = {"services": "service", "service_requests": "request", "errors": "error", "attributes": "attribute",
             "values": "value", "endpoints": "endpoint", "formats": "format"}


def _render(fmt: str, root: str, payload: Any, status: int = 200) -> Response:
    if fmt == "json":
        return JSONResponse(payload, status_code=status)
    body = '<?xml version="1.0" encoding="utf-8"?>' + _xml(root, payload, ITEM_TAGS)
    return Response(body, status_code=status, media_type="application/xml; charset=utf-8")


def _fmt(fmt: str) -> str:
    if fmt not in ("json", "xml"):
        raise Open311Error(404, "format must be json or xml / 只支持 json 或 xml 格式")
    return fmt


def _errors(fmt: str, status: int, description: str) -> Response:
    return _render(fmt if fmt in ("json", "xml") else "json", "errors",
                   [{"code": status, "description": description}], status)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(SHANGHAI).isoformat(timespec="seconds") if value else None


def _guard(fmt: str, fn: Any) -> Response:
    try:
        return fn(_fmt(fmt))
    except Open311Error as err:
        return _errors(fmt, err.status, err.description)
    except CitybaseError as err:
        status = {401: 403}.get(err.status_code, err.status_code)
        status = status if status in (403, 404) else 400
        return _errors(fmt, status, err.message)


def _service(t: ProblemType) -> dict[str, Any]:
    return {"service_code": t.code, "service_name": t.name,
            "description": f"{t.kind} · {t.major_name} · {t.minor_name}（{service.sla_text(service.sla_of(t))}）",
            "metadata": True, "type": "realtime", "keywords": ",".join(filter(None, [t.major_name, t.minor_name])),
            "group": f"{t.kind}·{t.major_name}" if t.major_name else t.kind}


def _request(session: Any, o: WorkOrder, names: dict[str, str]) -> dict[str, Any]:
    closed = not service.is_open(o.status)
    notes = service.status_label(o.status) + (f"：{o.reply}" if closed and o.reply else "")
    hidden = o.channel == "hotline"
    return {
        "service_request_id": o.number, "status": "closed" if closed else "open", "status_notes": notes,
        "service_name": o.type_name or None, "service_code": o.type_code,
        "description": "12345 热线工单内容不公开" if hidden else o.description,
        "agency_responsible": names.get(o.main_unit or "", o.main_unit or "") or None,
        "service_notice": service.sla_text(o.sla or {}) or None,
        "requested_datetime": _iso(o.received_at), "updated_datetime": _iso(o.updated_at),
        "expected_datetime": _iso(service.expected_due(session, o)),
        "address": None if hidden else (o.address or None), "address_id": None,
        "zipcode": None, "lat": None if hidden else o.lat, "long": None if hidden else o.lon, "media_url": None,
    }


# ---------------------------------------------------------------- routes

@router.get("/discovery.{fmt}", summary="Open311 服务发现")
def discovery(request: Request, fmt: str) -> Response:
    def run(fmt: str) -> Response:
        base = str(request.base_url).rstrip("/") + PREFIX
        return _render(fmt, "discovery", {
            "changeset": "2026-11-21T00:00:00+08:00", "contact": "城市运行管理中心 12345",
            "key_service": "使用 citybase API 令牌作为 api_key（citybase token create）",
            "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2", "url": base,
                           "changeset": "2026-11-21T00:00:00+08:00", "type": "production",
                           "formats": ["application/json", "text/xml"]}],
            "version": __version__})
    return _guard(fmt, run)


@router.get("/services.{fmt}", summary="Open311 服务列表")
def services(fmt: str) -> Response:
    def run(fmt: str) -> Response:
        with make_session() as s:
            return _render(fmt, "services", [_service(t) for t in service.list_problem_types(s)])
    return _guard(fmt, run)


@router.get("/services/{code}.{fmt}", summary="Open311 服务定义")
def service_definition(code: str, fmt: str) -> Response:
    def run(fmt: str) -> Response:
        with make_session() as s:
            t = s.get(ProblemType, code)
            if t is None or not t.active:
                raise Open311Error(404, f"service_code {code} not found / 未知的服务类型")
            return _render(fmt, "service_definition", {"service_code": t.code,
                                                       "attributes": service.service_attributes(t)})
    return _guard(fmt, run)


def _date(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        d = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Open311Error(400, f"{name} must be ISO 8601 / 时间格式须为 ISO 8601") from exc
    return d if d.tzinfo else d.replace(tzinfo=SHANGHAI)


def _int(value: str | None, name: str, default: int, hi: int) -> int:
    if value in (None, ""):
        return default
    try:
        n = int(value)
    except ValueError as exc:
        raise Open311Error(400, f"{name} must be an integer / {name} 必须是整数") from exc
    if not 1 <= n <= hi:
        raise Open311Error(400, f"{name} must be between 1 and {hi} / {name} 超出范围")
    return n


@router.get("/requests.{fmt}", summary="Open311 诉求列表")
def list_requests(request: Request, fmt: str) -> Response:
    def run(fmt: str) -> Response:
        q = request.query_params
        ids = [x.strip() for x in (q.get("service_request_id") or "").split(",") if x.strip()]
        codes = [x.strip() for x in (q.get("service_code") or "").split(",") if x.strip()]
        statuses = {x.strip() for x in (q.get("status") or "").split(",") if x.strip()}
        if statuses - {"open", "closed"}:
            raise Open311Error(400, "status must be open or closed / 状态只能是 open 或 closed")
        open_ = None if len(statuses) != 1 else ("open" in statuses)
        start, end = _date(q.get("start_date"), "start_date"), _date(q.get("end_date"), "end_date")
        if not ids and start is None and end is None:
            from datetime import timedelta

            from citybase.core.time import utcnow

            start = utcnow() - timedelta(days=90)
        page = _int(q.get("page"), "page", 1, 100000)
        size = _int(q.get("page_size"), "page_size", 1000, 1000)
        with make_session() as s:
            rows = service.query_orders(s, numbers=ids, type_codes=codes, start=start, end=end, open_=open_,
                                        page=page, size=size)
            names = service.org_names(s)
            return _render(fmt, "service_requests", [_request(s, o, names) for o in rows])
    return _guard(fmt, run)


@router.get("/requests/{number}.{fmt}", summary="Open311 诉求详情")
def get_request(number: str, fmt: str) -> Response:
    def run(fmt: str) -> Response:
        with make_session() as s:
            try:
                o = service.find_order(s, number)
            except CitybaseError as exc:
                raise Open311Error(404, f"service_request_id {number} not found / 工单不存在") from exc
            return _render(fmt, "service_requests", [_request(s, o, service.org_names(s))])
    return _guard(fmt, run)


@router.post("/requests.{fmt}", summary="Open311 提交诉求")
async def post_request(request: Request, fmt: str) -> Response:
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}

    def run(fmt: str) -> Response:
        key = fields.get("api_key", "").strip()
        if not key:
            raise Open311Error(403, "api_key is required / 缺少 api_key")
        with make_session() as s:
            try:
                principal = identity.resolve_token(s, key)
            except NotAuthenticated as exc:
                raise Open311Error(403, f"invalid api_key / {exc.message}") from exc
        try:
            authorize(principal, "events.intake")
        except PermissionDenied as exc:
            raise Open311Error(403, "api_key may not create requests / 该令牌无权提交诉求") from exc
        code = fields.get("service_code", "").strip()
        if not code:
            raise Open311Error(400, "service_code is required / 缺少 service_code")
        with make_session() as s:
            t = s.get(ProblemType, code)
            if t is None or not t.active:
                raise Open311Error(404, f"service_code {code} not found / 未知的服务类型")
        lat, lon = fields.get("lat", "").strip(), fields.get("long", "").strip()
        address = fields.get("address_string", "").strip() or None
        if not (lat and lon) and not address:
            raise Open311Error(400, "lat/long or address_string is required / 须提供经纬度或地址")
        try:
            lon_f, lat_f = (float(lon), float(lat)) if lat and lon else (None, None)
        except ValueError as exc:
            raise Open311Error(400, "lat/long must be numbers / 经纬度必须是数字") from exc
        description = fields.get("description", "").strip()
        if len(description) > 4000:
            raise Open311Error(400, "description longer than 4000 characters / 描述不能超过 4000 字")
        attributes = {k[len("attribute["):-1]: v for k, v in fields.items()
                      if k.startswith("attribute[") and k.endswith("]")}
        name = " ".join(x for x in (fields.get("last_name", ""), fields.get("first_name", "")) if x).strip()
        data = intake_in(channel="open311", description=description or t.name, type_code=code, lon=lon_f, lat=lat_f,
                         address=address, reporter_name=name[:40] or None,
                         reporter_phone=(fields.get("phone") or "")[:20] or None, attributes=attributes)
        with session_scope() as s:
            out = service.intake(s, principal, data)
        return _render(fmt, "service_requests", [{"service_request_id": out.number,
                                                  "service_notice": service.sla_text(out.sla) or None,
                                                  "account_id": None}], 201)
    return _guard(fmt, run)
