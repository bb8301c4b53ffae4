"""JSON API of 一网统管 (thin: parse → service → schema), plus the Open311 router."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field, field_validator
from starlette.concurrency import run_in_threadpool

from citybase.core.errors import BadInput
from citybase.core.identity.principal import Principal, authorize
from citybase.db import make_session, session_scope
from citybase.events import batching, open311, service
from citybase.events.schemas import ActionIn, IntakeIn, OrderOut, PhotoIn, refuse_nul
from citybase.web.lean import LeanRoute
from citybase.web.security import requires

api = APIRouter(prefix="/api/events", tags=["一网统管"])
# high-rate machine endpoints: the app includes this router before every other (see app.create_app),
# and its routes skip FastAPI's per-request dependency solving (web/lean.py)
priority_router = APIRouter(prefix="/api/events", tags=["一网统管"], route_class=LeanRoute)


class IntakeApiIn(BaseModel):
    channel: str = "api"
    description: str = Field(min_length=1, max_length=4000)
    type_code: str | None = None
    lon: float | None = Field(default=None, allow_inf_nan=False)
    lat: float | None = Field(default=None, allow_inf_nan=False)
    address: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    external_id: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    photos_base64: list[str] = Field(default_factory=list, max_length=6)
    auto_dispatch: bool | None = None

    _no_nul = field_validator("*", mode="before")(refuse_nul)


def _photos(items: list[str]) -> list[PhotoIn]:
    out = []
    for i, raw in enumerate(items):
        try:
            out.append(PhotoIn(filename=f"photo{i}", content=base64.b64decode(raw, validate=True)))
        except (binascii.Error, ValueError) as exc:
            raise BadInput("照片须为 base64 编码", code="bad_photo_encoding") from exc
    return out


@priority_router.post("/orders", status_code=201, response_model=OrderOut, summary="登记工单（受理诉求）")
async def create_order(body: IntakeApiIn, principal: Principal = Depends(requires("events.intake"))) -> Response:
    """Machine intake (sensors, other systems). Async: without photos the request waits on the event
    loop for its group commit (see events/batching.py) instead of occupying a pool thread."""
    if body.channel not in ("api", "sensor", "superior", "hotline"):
        raise BadInput("接口渠道只能是 api、sensor、superior 或 hotline", code="bad_channel")
    if body.photos_base64:
        out = await run_in_threadpool(_intake_with_photos, body, principal)
    else:
        out = await batching.submit(principal, IntakeIn(**body.model_dump(exclude={"photos_base64"})))
    # already an OrderOut: serialised once here instead of validated again by the response model
    return Response(out.model_dump_json(), status_code=201, media_type="application/json")


def _intake_with_photos(body: IntakeApiIn, principal: Principal) -> OrderOut:
    data = IntakeIn(**body.model_dump(exclude={"photos_base64"}), photos=_photos(body.photos_base64))
    with session_scope() as s:
        return service.intake(s, principal, data)


@api.get("/orders", summary="查询工单列表")
def list_orders(status: str | None = None, unit: str | None = None, district: str | None = None,
                q: str | None = None, page: int = 1, size: int = Query(50, le=500),
                principal: Principal = Depends(requires("events.read"))) -> dict[str, Any]:
    with make_session() as s:
        p = service.list_orders(s, principal, status=status.split(",") if status else None, unit=unit,
                                district=district, q=q, page=page, size=size)
        return {"total": p.total, "page": p.page, "size": p.size,
                "items": [service.to_out(s, principal, o).model_dump(mode="json") for o in p.items]}


@api.get("/orders/{number}", response_model=OrderOut, summary="工单详情")
def get_order(number: str, principal: Principal = Depends(requires("events.read"))) -> OrderOut:
    with make_session() as s:
        return service.get_order(s, principal, number)


@api.post("/orders/{number}/reveal-phone", summary="查看来电完整号码（记入审计）")
def reveal_phone(number: str, principal: Principal = Depends(requires("events.callback"))) -> dict[str, str]:
    authorize(principal, "events.callback")
    with session_scope() as s:
        return {"reporter_phone": service.reveal_phone(s, principal, number)}


@api.post("/orders/{number}/{action}", response_model=OrderOut, summary="工单办理操作")
def order_action(number: str, action: str, body: ActionIn,
                 principal: Principal = Depends(requires("events.read"))) -> OrderOut:
    """One transition of the flow; the service checks the role for each action."""
    with session_scope() as s:
        service.act(s, principal, number, action, body)
        return service.get_order(s, principal, number)


@api.get("/types", summary="问题类型（派单目录）")
def list_types(principal: Principal = Depends(requires("events.read"))) -> list[dict[str, Any]]:
    with make_session() as s:
        return [{"code": t.code, "name": t.name, "kind": t.kind, "major_name": t.major_name,
                 "sla": service.sla_of(t)} for t in service.list_problem_types(s)]


@api.get("/suggest", summary="推荐问题类型与定位")
def suggest(text: str = "", lon: float | None = None, lat: float | None = None, address: str | None = None,
            principal: Principal = Depends(requires("events.intake"))) -> dict[str, Any]:
    """Help at intake: type suggestions, the place (grid), and possible duplicates (并单)."""
    with make_session() as s:
        types = {t.code: t.name for t in service.list_problem_types(s)}
        sugg = [{"code": c, "name": types.get(c, c), "confidence": round(p, 3)}
                for c, p in service.suggest_types(text, top=3)] if text.strip() else []
        place = service.locate(s, lon, lat, address)
        dups = []
        plon, plat = (lon, lat) if lon is not None and lat is not None else (place.lon, place.lat)
        if sugg and plon is not None and plat is not None:
            dups = [{"number": o.number, "description": o.description[:60], "status": service.status_label(o.status)}
                    for o in service.find_duplicates(s, sugg[0]["code"], plon, plat)]
        return {"suggestions": sugg, "place": place.__dict__, "duplicates": dups}


@api.get("/stats", summary="工单统计")
def stats(by: str = "district", principal: Principal = Depends(requires("events.stats"))) -> list[dict[str, Any]]:
    with make_session() as s:
        return service.stats(s, principal, by)


@api.get("/photos/{photo_id}", summary="工单照片")
def photo(photo_id: int, principal: Principal = Depends(requires("events.read"))) -> FileResponse:
    with make_session() as s:
        path, ctype = service.photo_file(s, principal, photo_id)
    return FileResponse(path, media_type=ctype)


router = APIRouter()
router.include_router(api)
router.include_router(open311.router)
