"""JSON API: ThingsBoard's device HTTP API, SenML, and the management/query API (thin)."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from citybase.core.errors import BadInput, CitybaseError
from citybase.core.identity.principal import Principal
from citybase.core.time import SHANGHAI
from citybase.db import make_session, session_scope
from citybase.iot import service
from citybase.iot.schemas import (
    AlarmOut,
    DeviceCreated,
    DeviceIn,
    DeviceOut,
    IngestResult,
    ProfileIn,
    ProfileOut,
)
from citybase.web.security import requires

router = APIRouter(tags=["iot 物联感知"])


async def device_credentials(request: Request) -> None:
    """Devices authenticate with their own credentials (token in the path or a Bearer header), checked
    by the handler; no user session, no CSRF."""
    return None


device_credentials.cb_permission = "public"  # type: ignore[attr-defined]


def _json(result: IngestResult) -> JSONResponse:
    return JSONResponse(result.model_dump())


def _ingest_tb(token: str, body: bytes) -> IngestResult:
    with session_scope() as s:
        auth = service.authenticate_token(s, token)
        service.check_rate(auth)
        records = service.thingsboard_records(service.parse_json(body))
        return service.finish(service.ingest(s, auth, records))


def _ingest_senml(token: str, body: bytes) -> IngestResult:
    with session_scope() as s:
        auth = service.authenticate_token(s, token)
        service.check_rate(auth)
        try:
            payload = service.parse_json(body)
        except BadInput as exc:
            raise BadInput("SenML 数据不是有效的 JSON", code="invalid_senml", detail=exc.detail) from exc
        records = service.senml_records(payload)
        return service.finish(service.ingest(s, auth, records))


def _attributes_in(token: str, body: bytes) -> dict[str, Any]:
    with session_scope() as s:
        auth = service.authenticate_token(s, token)
        service.check_rate(auth)
        n = service.report_attributes(s, auth.id, service.parse_json(body))
        return {"accepted": n}


@router.post("/api/v1/{token}/telemetry", dependencies=[Depends(device_credentials)],
             summary="设备上报遥测（ThingsBoard HTTP 设备接口）")
async def tb_telemetry(token: str, request: Request) -> JSONResponse:
    body = await request.body()
    return _json(await run_in_threadpool(_ingest_tb, token, body))


@router.post("/api/v1/{token}/attributes", dependencies=[Depends(device_credentials)],
             summary="设备上报客户端属性（ThingsBoard HTTP 设备接口）")
async def tb_attributes(token: str, request: Request) -> dict[str, Any]:
    body = await request.body()
    return await run_in_threadpool(_attributes_in, token, body)


@router.get("/api/v1/{token}/attributes", dependencies=[Depends(device_credentials)],
            summary="设备读取共享属性与客户端属性")
def tb_attributes_get(token: str) -> dict[str, Any]:
    with make_session() as s:
        auth = service.authenticate_token(s, token)
        attrs = service.attributes(s, auth.id)
    return {"client": attrs["reported"], "shared": attrs["shared"]}


@router.post("/api/iot/senml", dependencies=[Depends(device_credentials)],
             summary="SenML（RFC 8428）批量上报，设备令牌作为 Bearer")
async def senml(request: Request) -> JSONResponse:
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer "):
        raise CitybaseError("缺少设备令牌（Authorization: Bearer <设备令牌>）", code="device_token_missing",
                            status_code=401)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in ("application/senml+json", "application/json", ""):
        raise CitybaseError("SenML 请使用 application/senml+json", code="unsupported_media_type", status_code=415)
    body = await request.body()
    return _json(await run_in_threadpool(_ingest_senml, auth[7:].strip(), body))


# ---------------------------------------------------------------- profiles and devices

@router.get("/api/iot/profiles", response_model=list[ProfileOut], summary="设备档案列表")
def profiles(principal: Principal = Depends(requires("iot.read"))) -> list[ProfileOut]:
    with make_session() as s:
        return service.list_profiles(s)


@router.post("/api/iot/profiles", response_model=ProfileOut, status_code=201, summary="保存设备档案")
def profile_save(data: ProfileIn, principal: Principal = Depends(requires("iot.profile"))) -> ProfileOut:
    with session_scope() as s:
        return service.save_profile(s, principal, data)


@router.get("/api/iot/devices", summary="设备列表")
def devices(profile: str | None = None, district: str | None = None, q: str | None = None,
            state: str | None = None, page: int = Query(1, ge=1), size: int = Query(50, ge=1, le=500),
            principal: Principal = Depends(requires("iot.read"))) -> dict[str, Any]:
    with make_session() as s:
        p = service.list_devices(s, profile=profile, district_code=district, q=q, state=state, page=page, size=size)
    return {"items": [i.model_dump(mode="json") for i in p.items], "total": p.total, "page": p.page, "size": p.size}


@router.post("/api/iot/devices", response_model=DeviceCreated, status_code=201, summary="登记设备")
def device_add(data: DeviceIn, principal: Principal = Depends(requires("iot.manage"))) -> DeviceCreated:
    with session_scope() as s:
        out, token = service.create_device(s, principal, data)
    return DeviceCreated(device=out, token=token)


@router.post("/api/iot/devices/import", summary="批量导入设备")
async def device_import(file: UploadFile = File(...), profile: str | None = Form(None),
                        principal: Principal = Depends(requires("iot.manage"))) -> dict[str, Any]:
    suffix = Path(file.filename or "").suffix.lower()
    content = await file.read()

    def run() -> list[tuple[str, str]]:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"import{suffix}"
            path.write_bytes(content)
            with session_scope() as s:
                return service.import_devices(s, principal, path, default_profile=profile)

    pairs = await run_in_threadpool(run)
    return {"created": len(pairs), "devices": [{"code": c, "token": t} for c, t in pairs]}


@router.get("/api/iot/devices/{code}", summary="设备详情")
def device_get(code: str, principal: Principal = Depends(requires("iot.read"))) -> dict[str, Any]:
    with make_session() as s:
        d = service.get_device(s, code)
        return {"device": service.device_out(s, d).model_dump(mode="json"), "attributes": service.attributes(s, d.id),
                "latest": service.latest(s, d.id)}


@router.post("/api/iot/devices/{code}/revoke", response_model=DeviceOut, summary="吊销设备")
def device_revoke(code: str, principal: Principal = Depends(requires("iot.manage"))) -> DeviceOut:
    with session_scope() as s:
        return service.set_status(s, principal, code, "revoked")


@router.post("/api/iot/devices/{code}/activate", response_model=DeviceOut, summary="启用设备")
def device_activate(code: str, principal: Principal = Depends(requires("iot.manage"))) -> DeviceOut:
    with session_scope() as s:
        return service.set_status(s, principal, code, "active")


@router.post("/api/iot/devices/{code}/token", summary="重置设备令牌")
def device_token(code: str, principal: Principal = Depends(requires("iot.manage"))) -> dict[str, str]:
    with session_scope() as s:
        return {"code": code, "token": service.rotate_token(s, principal, code)}


@router.put("/api/iot/devices/{code}/attributes/{scope}", summary="设置设备属性")
def device_attrs(code: str, scope: str, values: dict[str, Any],
                 principal: Principal = Depends(requires("iot.manage"))) -> dict[str, Any]:
    with session_scope() as s:
        service.set_attributes(s, principal, code, scope, values)
        return service.attributes(s, service.get_device(s, code).id)


def _ms(value: str | None, default: int) -> int:
    if value is None or value == "":
        return default
    if value.lstrip("-").isdigit():
        return int(value)
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadInput("时间应为 ISO 8601 或毫秒时间戳", code="bad_time", detail={"value": value}) from exc
    if dt.tzinfo is None:

        dt = dt.replace(tzinfo=SHANGHAI)
    return int(dt.timestamp() * 1000)


@router.get("/api/iot/devices/{code}/series", summary="设备读数时序")
def device_series(code: str, quantity: str, start: str | None = None, end: str | None = None,
                  interval: str = "hour", principal: Principal = Depends(requires("iot.read"))) -> dict[str, Any]:
    now = service.now_ms()
    a, b = _ms(start, now - 86_400_000), _ms(end, now + 1)
    with session_scope() as s:  # hour/day refresh this device's roll-ups first
        d = service.get_device(s, code)
        points = service.series(s, d.id, quantity, a, b, interval)
    return {"device": code, "quantity": quantity, "interval": interval, "start": a, "end": b, "points": points}


@router.get("/api/iot/area", summary="区域汇总")
def area(quantity: str, district: str | None = None, street: str | None = None, grid: str | None = None,
         principal: Principal = Depends(requires("iot.read"))) -> dict[str, Any]:
    with make_session() as s:
        return service.area_latest(s, quantity, district_code=district, street_code=street, grid_code=grid)


@router.get("/api/iot/area/series", summary="区域读数时序")
def area_series(quantity: str, district: str | None = None, street: str | None = None, grid: str | None = None,
                start: str | None = None, end: str | None = None, grain: str = "hour",
                principal: Principal = Depends(requires("iot.read"))) -> dict[str, Any]:
    now = service.now_ms()
    with session_scope() as s:  # refreshes pending roll-ups first
        pts = service.area_series(s, quantity, _ms(start, now - 86_400_000), _ms(end, now + 1), grain,
                                  district_code=district, street_code=street, grid_code=grid)
    return {"quantity": quantity, "grain": grain, "points": pts}


@router.get("/api/iot/map", summary="设备地图点位")
def map_points(profile: str | None = None, principal: Principal = Depends(requires("iot.read"))) -> dict[str, Any]:
    with make_session() as s:
        return {"points": service.map_points(s, profile)}


# ---------------------------------------------------------------- alarms

@router.get("/api/iot/alarms", response_model=list[AlarmOut], summary="告警列表")
def alarms(status: str | None = "active", device: str | None = None, severity: str | None = None,
           principal: Principal = Depends(requires("iot.read"))) -> list[AlarmOut]:
    with make_session() as s:
        dev_id = service.get_device(s, device).id if device else None
        return service.list_alarms(s, status=status or None, device_id=dev_id, severity=severity)


@router.post("/api/iot/alarms/{alarm_id}/ack", response_model=AlarmOut, summary="确认告警")
def alarm_ack(alarm_id: int, principal: Principal = Depends(requires("iot.alarm"))) -> AlarmOut:
    with session_scope() as s:
        return service.acknowledge(s, principal, alarm_id)


@router.post("/api/iot/alarms/{alarm_id}/clear", response_model=AlarmOut, summary="解除告警")
def alarm_clear(alarm_id: int, principal: Principal = Depends(requires("iot.alarm"))) -> AlarmOut:
    with session_scope() as s:
        return service.clear(s, principal, alarm_id)
