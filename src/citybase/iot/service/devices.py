"""Device profiles, devices, credentials and attributes; bulk import from XLSX/CSV."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citybase.config import get_settings
from citybase.core.audit.service import record
from citybase.core.errors import BadInput, Conflict, NotFound, PermissionDenied
from citybase.core.identity.principal import Principal, authorize
from citybase.core.pagination import Page, paginate, with_items
from citybase.core.time import utcnow
from citybase.grid import service as grid
from citybase.iot.models import Alarm, Attribute, Device, Profile
from citybase.iot.schemas import ATTRIBUTE_SCOPES, DeviceIn, DeviceOut, ProfileIn, ProfileOut
from citybase.iot.service.common import forget_profile, ms_to_dt, now_ms

CODE_RE = re.compile(r"^[0-9A-Za-z\-_.]{4,40}$")
COMPONENT_RE = re.compile(r"^\d{16}$")
TOKEN_BYTES = 15


# ---------------------------------------------------------------- profiles

def _profile_out(session: Session, p: Profile) -> ProfileOut:
    n = session.execute(select(func.count()).select_from(Device).where(Device.profile_id == p.id)).scalar_one()
    return ProfileOut(id=p.id, name=p.name, label=p.label, device_type=p.device_type,
                      component_class=p.component_class, org_code=p.org_code,
                      quantities=list(p.quantities), rules=list(p.rules), interval_s=p.interval_s,
                      raw_retention_days=p.raw_retention_days, agg_retention_days=p.agg_retention_days,
                      order_severity=p.order_severity, open_type=p.open_type, resource_code=p.resource_code,
                      device_count=n)


def get_profile(session: Session, name_or_id: str | int) -> Profile:
    if isinstance(name_or_id, int) or str(name_or_id).isdigit():
        p = session.get(Profile, int(name_or_id))
    else:
        p = session.execute(select(Profile).where(Profile.name == name_or_id)).scalar_one_or_none()
    if p is None:
        raise NotFound(f"设备型号（档案）不存在：{name_or_id}", code="unknown_profile",
                       detail={"profile": name_or_id})
    return p


def list_profiles(session: Session) -> list[ProfileOut]:
    return [_profile_out(session, p) for p in session.execute(select(Profile).order_by(Profile.id)).scalars()]


def profile_out(session: Session, name: str) -> ProfileOut:
    return _profile_out(session, get_profile(session, name))


def save_profile(session: Session, principal: Principal, data: ProfileIn | dict) -> ProfileOut:
    """Create or update (by name) a device profile."""
    authorize(principal, "iot.profile")
    try:
        data = data if isinstance(data, ProfileIn) else ProfileIn(**data)
    except ValidationError as exc:
        raise BadInput("设备档案内容不符合要求", code="bad_profile",
                       detail={"errors": json.loads(exc.json())}) from exc
    from citybase.core.identity import service as identity

    identity.get_org(session, data.org_code)
    p = session.execute(select(Profile).where(Profile.name == data.name)).scalar_one_or_none()
    created = p is None
    if p is None:
        p = Profile(name=data.name)
        session.add(p)
    p.label, p.device_type, p.component_class = data.label, data.device_type, data.component_class
    p.org_code = data.org_code
    p.quantities = [q.model_dump(mode="json") for q in data.quantities]
    p.rules = [r.model_dump(mode="json") for r in data.rules]
    p.interval_s, p.raw_retention_days = data.interval_s, data.raw_retention_days
    p.agg_retention_days, p.order_severity, p.open_type = data.agg_retention_days, data.order_severity, data.open_type
    p.updated_at = utcnow()
    session.flush()
    forget_profile(p.id)
    record(session, principal, "iot.profile.create" if created else "iot.profile.update", "iot_profile", p.name,
           {"label": p.label, "org": p.org_code, "rules": [r.key for r in data.rules]})
    return _profile_out(session, p)


# ---------------------------------------------------------------- devices

def _may_manage(principal: Principal, org_code: str) -> None:
    authorize(principal, "iot.manage")
    if principal.is_system or principal.role == "admin":
        return
    if principal.org_code != org_code:
        raise PermissionDenied("只能管理本部门的设备", code="not_owner_department",
                               detail={"owner": org_code, "yours": principal.org_code})


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def _district_only(lon: float, lat: float) -> dict[str, str | None]:
    from citybase.reference.divisions import locate_district

    return {"district_code": locate_district(lon, lat), "street_code": None, "grid_code": None}


def _from_hit(hit: Any) -> dict[str, str | None]:
    return {"district_code": hit.district_code, "street_code": hit.street_code, "grid_code": hit.grid_code}


def locate(session: Session, lon: float, lat: float) -> dict[str, str | None]:
    """District/street/grid of a point: the grid covering it, else the district from the reference
    boundaries."""
    hit = grid.locate(session, lon, lat)
    return _from_hit(hit) if hit is not None else _district_only(lon, lat)


def locate_many(session: Session, lons: list[float], lats: list[float]) -> list[dict[str, str | None]]:
    pos, hits = grid.locate_many_positions(session, np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))
    return [_from_hit(hits[p]) if p >= 0 else _district_only(x, y)
            for p, x, y in zip(pos.tolist(), lons, lats, strict=True)]


def check_code(code: str, profile: Profile) -> None:
    if not CODE_RE.match(code or ""):
        raise BadInput("设备编码只能包含字母、数字和 - _ .，长度 4–40", code="bad_device_code",
                       detail={"code": code})
    # 城市部件编码: 6-digit division + 4-digit component class (大类+小类) + 6-digit serial
    if profile.component_class and (not COMPONENT_RE.match(code) or code[6:10] != profile.component_class):
        raise BadInput(f"城市部件编码应为 16 位数字：6 位行政区划代码 + 部件类别 {profile.component_class} + 6 位序号",
                       code="bad_component_code", detail={"code": code, "class": profile.component_class})


def _state(status: str, last_seen_ms: int | None, online: bool, active_alarm: bool) -> str:
    if status != "active":
        return "revoked"
    if last_seen_ms is None:
        return "never"
    if not online:  # an offline device is counted offline, even while its 设备离线 alarm is active
        return "offline"
    return "alarm" if active_alarm else "online"


def device_state(d: Device, active_alarm: bool) -> str:
    """revoked, never, offline, alarm or online (an offline device counts as offline, not alarm)."""
    return _state(d.status, d.last_seen_ms, d.online, active_alarm)


def device_out(session: Session, d: Device, profile: Profile | None = None,
               alarmed: set[int] | None = None) -> DeviceOut:
    profile = profile or session.get(Profile, d.profile_id)
    if alarmed is None:
        has = session.execute(select(Alarm.id).where(Alarm.device_id == d.id, Alarm.active_key.is_not(None))
                              .limit(1)).first() is not None
    else:
        has = d.id in alarmed
    return DeviceOut(id=d.id, code=d.code, name=d.name, profile=profile.name, profile_label=profile.label,
                     org_code=d.org_code, lon=d.lon, lat=d.lat, district_code=d.district_code,
                     street_code=d.street_code, grid_code=d.grid_code, address=d.address, status=d.status,
                     state=device_state(d, has), token_prefix=d.token_prefix, mqtt_username=d.mqtt_username,
                     last_seen=ms_to_dt(d.last_seen_ms), created_at=d.created_at)


def get_device(session: Session, code: str) -> Device:
    d = session.execute(select(Device).where(Device.code == code)).scalar_one_or_none()
    if d is None:
        raise NotFound(f"设备不存在：{code}", code="unknown_device", detail={"code": code})
    return d


def _check_point(lon: float, lat: float) -> None:
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise BadInput("经纬度超出范围", code="bad_location", detail={"lon": lon, "lat": lat})


def create_device(session: Session, principal: Principal, data: DeviceIn | dict,
                  *, token: str | None = None, where: dict[str, str | None] | None = None) -> tuple[DeviceOut, str]:
    """Register a device; returns it and its access token (shown once, stored hashed)."""
    data = data if isinstance(data, DeviceIn) else DeviceIn(**data)
    profile = get_profile(session, data.profile)
    org_code = data.org_code or profile.org_code
    _may_manage(principal, org_code)
    from citybase.core.identity import service as identity

    identity.get_org(session, org_code)
    check_code(data.code, profile)
    _check_point(data.lon, data.lat)
    if session.execute(select(Device.id).where(Device.code == data.code)).first():
        raise Conflict(f"设备编码已存在：{data.code}", code="duplicate_device", detail={"code": data.code})
    token = token or new_token()
    mqtt_hash = None
    if data.mqtt_username:
        if not data.mqtt_password or len(data.mqtt_password) < 8:
            raise BadInput("MQTT 密码至少 8 位", code="weak_mqtt_password")
        if session.execute(select(Device.id).where(Device.mqtt_username == data.mqtt_username)).first():
            raise Conflict("MQTT 用户名已被占用", code="duplicate_mqtt_username")
        from citybase.core.identity.service import hash_password

        mqtt_hash = hash_password(data.mqtt_password)
    where = where if where is not None else locate(session, data.lon, data.lat)
    d = Device(code=data.code, name=data.name or f"{profile.label}{data.code[-6:]}", profile_id=profile.id,
               org_code=org_code, lon=data.lon, lat=data.lat, address=data.address, status="active",
               token_hash=hash_token(token), token_prefix=token[:6], mqtt_username=data.mqtt_username,
               mqtt_password_hash=mqtt_hash, online=False, **where)
    session.add(d)
    session.flush()
    now = utcnow()
    for k, v in data.attributes.items():
        session.add(Attribute(device_id=d.id, scope="static", key=str(k)[:80],
                              value=v, updated_at=now))
    record(session, principal, "iot.device.create", "iot_device", d.code,
           {"profile": profile.name, "org": org_code, "lon": d.lon, "lat": d.lat})
    return device_out(session, d, profile, alarmed=set()), token


def rotate_token(session: Session, principal: Principal, code: str) -> str:
    d = get_device(session, code)
    _may_manage(principal, d.org_code)
    token = new_token()
    forget_credentials(d.token_hash)
    d.token_hash, d.token_prefix = hash_token(token), token[:6]
    record(session, principal, "iot.device.rotate_token", "iot_device", d.code, {})
    return token


def set_status(session: Session, principal: Principal, code: str, status: str) -> DeviceOut:
    """Revoke (credentials refused from then on) or re-activate a device."""
    if status not in ("active", "revoked"):
        raise BadInput("状态只能是 active 或 revoked", code="bad_status")
    d = get_device(session, code)
    _may_manage(principal, d.org_code)
    if d.status != status:
        record(session, principal, "iot.device.revoke" if status == "revoked" else "iot.device.activate",
               "iot_device", d.code, {"from": d.status})
        d.status = status
        forget_credentials(d.token_hash)
        if d.mqtt_username:
            forget_credentials("u:" + d.mqtt_username)
    return device_out(session, d)


def list_devices(session: Session, *, profile: str | None = None, district_code: str | None = None,
                 q: str | None = None, state: str | None = None, page: int = 1, size: int = 200
                 ) -> Page[DeviceOut]:
    """Devices by code, filtered by profile, district, text and state (alarm/offline/online/never)."""
    stmt = select(Device, Profile).join(Profile, Profile.id == Device.profile_id)
    if profile:
        stmt = stmt.where(Profile.name == profile)
    if district_code:
        stmt = stmt.where(Device.district_code == district_code)
    if q:
        stmt = stmt.where(Device.code.contains(q) | Device.name.contains(q))
    alarmed = set(session.execute(select(Alarm.device_id).where(Alarm.active_key.is_not(None))).scalars())
    if state == "alarm":
        stmt = stmt.where(Device.id.in_(alarmed or {-1}), Device.online.is_(True))
    elif state == "offline":
        stmt = stmt.where(Device.online.is_(False), Device.last_seen_ms.is_not(None))
    elif state == "online":
        stmt = stmt.where(Device.online.is_(True))
    elif state == "never":
        stmt = stmt.where(Device.last_seen_ms.is_(None))
    paged = paginate(session, stmt.order_by(Device.code), page, size, scalars=False)
    return with_items(paged, [device_out(session, d, p, alarmed) for d, p in paged.items])


def map_points(session: Session, profile: str | None = None) -> list[dict[str, Any]]:
    """Every device as [lon, lat, code, name, state, profile_label] for the map (compact)."""
    alarmed = set(session.execute(select(Alarm.device_id).where(Alarm.active_key.is_not(None))).scalars())
    stmt = select(Device.id, Device.code, Device.name, Device.lon, Device.lat, Device.status, Device.online,
                  Device.last_seen_ms, Profile.label).join(Profile, Profile.id == Device.profile_id)
    if profile:
        stmt = stmt.where(Profile.name == profile)
    out = []
    for i, code, name, lon, lat, status, online, seen, label in session.execute(stmt):
        out.append({"value": [lon, lat], "code": code, "name": name, "state": _state(status, seen, online, i in alarmed),
                    "profile": label})
    return out


# ---------------------------------------------------------------- attributes

def attributes(session: Session, device_id: int) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {s: {} for s in ATTRIBUTE_SCOPES}
    for a in session.execute(select(Attribute).where(Attribute.device_id == device_id)
                             .order_by(Attribute.scope, Attribute.key)).scalars():
        out[a.scope][a.key] = a.value
    return out


def _upsert_attrs(session: Session, device_id: int, scope: str, values: dict[str, Any]) -> None:
    now = utcnow()
    for k, v in values.items():
        key = str(k)[:80]
        row = session.get(Attribute, (device_id, scope, key))
        if row is None:
            session.add(Attribute(device_id=device_id, scope=scope, key=key, value=v, updated_at=now))
        else:
            row.value, row.updated_at = v, now


def set_attributes(session: Session, principal: Principal, code: str, scope: str, values: dict[str, Any]) -> None:
    """Static (server-side) or shared (pushed to the device) attributes, set by people."""
    if scope not in ("static", "shared"):
        raise BadInput("只能设置 static 或 shared 属性；reported 属性由设备上报", code="bad_scope")
    if not isinstance(values, dict) or not values:
        raise BadInput("属性应为非空的键值对象", code="bad_attributes")
    d = get_device(session, code)
    _may_manage(principal, d.org_code)
    _upsert_attrs(session, d.id, scope, values)
    record(session, principal, "iot.device.attributes", "iot_device", d.code, {"scope": scope, "keys": list(values)})


def report_attributes(session: Session, device_id: int, values: Any) -> int:
    """Client-side (reported) attributes sent by the device itself."""
    if not isinstance(values, dict) or not values:
        raise BadInput("属性应为非空的 JSON 对象", code="bad_attributes")
    if len(values) > 200:
        raise BadInput("一次最多上报 200 个属性", code="too_many_attributes")
    _upsert_attrs(session, device_id, "reported", values)
    return len(values)


# ---------------------------------------------------------------- credentials (hot path, cached)

@dataclass(frozen=True)
class DeviceAuth:
    id: int
    code: str
    profile_id: int
    org_code: str


_cred_lock = threading.Lock()
_cred_cache: dict[str, tuple[DeviceAuth | None, str, float]] = {}  # key -> (auth, status, expires)


def forget_credentials(key: str | None = None) -> None:
    with _cred_lock:
        if key is None:
            _cred_cache.clear()
        else:
            _cred_cache.pop(key, None)


def _cached(key: str) -> tuple[DeviceAuth | None, str] | None:
    hit = _cred_cache.get(key)
    if hit and hit[2] > time.monotonic():
        return hit[0], hit[1]
    return None


def _remember(key: str, auth: DeviceAuth | None, status: str) -> None:
    with _cred_lock:
        if len(_cred_cache) > 200_000:
            _cred_cache.clear()
        _cred_cache[key] = (auth, status, time.monotonic() + get_settings().iot_cache_ttl_s)


def _auth_from_row(row: Any) -> tuple[DeviceAuth | None, str]:
    if row is None:
        return None, "unknown"
    return DeviceAuth(row.id, row.code, row.profile_id, row.org_code), row.status


def authenticate_token(session: Session, token: str) -> DeviceAuth:
    """The device an access token belongs to; NotAuthenticated-like errors for unknown/revoked."""
    from citybase.core.errors import NotAuthenticated

    if not token or len(token) > 128:
        raise NotAuthenticated("设备凭据无效", code="device_token_invalid")
    key = hash_token(token)
    hit = _cached(key)
    if hit is None:
        row = session.execute(select(Device.id, Device.code, Device.profile_id, Device.org_code, Device.status)
                              .where(Device.token_hash == key)).first()
        hit = _auth_from_row(row)
        _remember(key, *hit)
    auth, status = hit
    if auth is None:
        raise NotAuthenticated("设备凭据无效", code="device_token_invalid")
    if status != "active":
        raise NotAuthenticated("设备凭据已被吊销", code="device_revoked")
    return auth


def authenticate_mqtt(session: Session, username: str | None, password: str | None) -> DeviceAuth:
    """ThingsBoard's two MQTT schemes: access token as username (no password), or username + password."""
    from citybase.core.errors import NotAuthenticated

    if not username:
        raise NotAuthenticated("缺少设备凭据", code="device_token_invalid")
    if not password:
        return authenticate_token(session, username)
    key = "u:" + username
    pw_key = hashlib.sha256(password.encode()).hexdigest()
    hit = _cached(key + ":" + pw_key)
    if hit is None:
        row = session.execute(select(Device.id, Device.code, Device.profile_id, Device.org_code, Device.status,
                                     Device.mqtt_password_hash).where(Device.mqtt_username == username)).first()
        ok = False
        if row is not None and row.mqtt_password_hash:
            from citybase.core.identity.service import _verify_password

            ok = _verify_password(row.mqtt_password_hash, password)
        hit = _auth_from_row(row) if ok else (None, "unknown")
        _remember(key + ":" + pw_key, *hit)
    auth, status = hit
    if auth is None:
        raise NotAuthenticated("设备凭据无效", code="device_token_invalid")
    if status != "active":
        raise NotAuthenticated("设备凭据已被吊销", code="device_revoked")
    return auth


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# ---------------------------------------------------------------- bulk import

IMPORT_COLUMNS = {
    "code": ("code", "编码", "设备编码", "部件编码", "城市部件编码"),
    "name": ("name", "名称", "设备名称"),
    "profile": ("profile", "设备类型", "类型", "型号", "设备型号", "档案", "设备档案"),
    "lon": ("lon", "经度", "longitude"),
    "lat": ("lat", "纬度", "latitude"),
    "org_code": ("org_code", "org", "权属单位", "权属单位代码"),
    "address": ("address", "地址", "位置"),
}


def _rows_from_file(path: Path) -> list[dict[str, Any]]:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        ws = wb.worksheets[0]
        it = ws.iter_rows(values_only=True)
        header = [str(h or "").strip() for h in next(it, [])]
        rows = [dict(zip(header, r, strict=False)) for r in it if any(v not in (None, "") for v in r)]
        wb.close()
        return rows
    if suffix == ".csv":
        raw = path.read_bytes()
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise BadInput("无法识别 CSV 文件的编码（请使用 UTF-8 或 GB18030）", code="bad_encoding")
        return [r for r in csv.DictReader(io.StringIO(text)) if any((v or "").strip() for v in r.values())]
    raise BadInput("只支持 .xlsx 和 .csv 文件", code="bad_file_type", detail={"suffix": suffix})


def _normalise(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    lower = {str(k).strip().lower(): v for k, v in row.items() if k is not None}
    for field, names in IMPORT_COLUMNS.items():
        for n in names:
            if n.lower() in lower and lower[n.lower()] not in (None, ""):
                out[field] = lower[n.lower()]
                break
    return out


def import_devices(session: Session, principal: Principal, path: Path,
                   default_profile: str | None = None) -> list[tuple[str, str]]:
    """Register every row of an XLSX/CSV file (all or nothing). Returns (code, token) pairs."""
    authorize(principal, "iot.manage")
    rows = _rows_from_file(path)
    if not rows:
        raise BadInput("文件中没有设备数据", code="empty_file")
    if len(rows) > 50_000:
        raise BadInput("一次最多导入 50000 台设备", code="too_many_rows")
    parsed, errors = [], []
    for i, raw in enumerate(rows, start=2):
        r = _normalise(raw)
        r.setdefault("profile", default_profile)
        try:
            r["code"] = str(r.get("code") or "").strip()
            r["lon"], r["lat"] = float(r["lon"]), float(r["lat"])
            parsed.append((i, DeviceIn(**{k: (str(v) if k in ("name", "org_code", "address") else v)
                                          for k, v in r.items() if v is not None})))
        except KeyError as exc:
            errors.append({"row": i, "code": "missing_field", "message": f"第 {i} 行：缺少“{exc.args[0]}”"})
        except (ValueError, TypeError):
            errors.append({"row": i, "code": "bad_coordinates", "message": f"第 {i} 行：经纬度不是数字"})
        except ValidationError as exc:
            fields = "、".join(str(e["loc"][0]) for e in exc.errors())
            errors.append({"row": i, "code": "bad_row", "message": f"第 {i} 行：字段无效（{fields}）"})
    if errors:
        raise BadInput(f"{len(errors)} 行数据有误，未导入任何设备", code="import_rows_invalid",
                       detail={"errors": errors[:50], "count": len(errors)})
    return bulk_create(session, principal, [d for _, d in parsed], rows=[i for i, _ in parsed])


def bulk_create(session: Session, principal: Principal, items: list[DeviceIn], *,
                tokens: list[str] | None = None, rows: list[int] | None = None) -> list[tuple[str, str]]:
    """Register many devices at once (all or nothing, one ledger entry). Returns (code, token) pairs."""
    authorize(principal, "iot.manage")
    from citybase.core.identity import service as identity

    profiles = {p.name: p for p in session.execute(select(Profile)).scalars()}
    orgs = {o.code for o in identity.all_orgs(session)}
    existing = set(session.execute(select(Device.code)).scalars())
    seen: set[str] = set()
    errors = []
    for n, d in enumerate(items):
        where = f"第 {rows[n]} 行" if rows else f"第 {n + 1} 台"
        p = profiles.get(d.profile)
        try:
            if p is None:
                raise BadInput(f"设备型号（档案）不存在：{d.profile}", code="unknown_profile")
            org = d.org_code or p.org_code
            if org not in orgs:
                raise BadInput(f"机构代码不存在：{org}", code="unknown_org")
            _may_manage(principal, org)
            check_code(d.code, p)
            _check_point(d.lon, d.lat)
            if d.code in existing or d.code in seen:
                raise Conflict(f"设备编码重复：{d.code}", code="duplicate_device")
            if d.mqtt_username:
                raise BadInput("批量导入不设置 MQTT 用户名/密码，请逐台设置", code="mqtt_in_bulk")
        except (BadInput, Conflict, PermissionDenied) as exc:
            errors.append({"row": rows[n] if rows else n + 1, "code": exc.code, "message": f"{where}：{exc.message}"})
            continue
        seen.add(d.code)
    if errors:
        raise BadInput(f"{len(errors)} 台设备有误，未导入任何设备", code="import_rows_invalid",
                       detail={"errors": errors[:50], "count": len(errors)})
    where_all = locate_many(session, [d.lon for d in items], [d.lat for d in items])
    tokens = tokens or [new_token() for _ in items]
    now = utcnow()
    devices = []
    for d, w, tok in zip(items, where_all, tokens, strict=True):
        p = profiles[d.profile]
        devices.append(Device(code=d.code, name=d.name or f"{p.label}{d.code[-6:]}", profile_id=p.id,
                              org_code=d.org_code or p.org_code, lon=d.lon, lat=d.lat, address=d.address,
                              status="active", token_hash=hash_token(tok), token_prefix=tok[:6], online=False,
                              created_at=now, **w))
    session.add_all(devices)
    session.flush()
    attrs = [{"device_id": dev.id, "scope": "static", "key": str(k)[:80], "value": v,
              "updated_at": now} for dev, d in zip(devices, items, strict=True) for k, v in d.attributes.items()]
    if attrs:
        from sqlalchemy import insert

        session.execute(insert(Attribute), attrs)
    by_profile: dict[str, int] = {}
    for d in items:
        by_profile[d.profile] = by_profile.get(d.profile, 0) + 1
    record(session, principal, "iot.device.import", "iot_device", f"{len(items)} devices",
           {"count": len(items), "profiles": by_profile})
    return [(d.code, t) for d, t in zip(items, tokens, strict=True)]


def last_seen(session: Session, device_id: int) -> int | None:
    return session.execute(select(Device.last_seen_ms).where(Device.id == device_id)).scalar_one_or_none()


def touch_now() -> int:
    return now_ms()
