"""Sensor data as catalogue resources: each profile's hourly telemetry is a resource of its owner
department (catalog module), refreshed in the lake by a job (lake module)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from citybase.catalog import service as catalog
from citybase.catalog.schemas import FieldIn, ResourceIn
from citybase.core.audit.service import record
from citybase.core.identity.principal import Principal, authorize
from citybase.core.time import SHANGHAI
from citybase.iot.models import Profile
from citybase.iot.service.common import now_ms
from citybase.lake import service as lake

# owner department key → 部门信息资源 项 (see citybase.catalog.classes); 目 901 = 物联感知数据
DEPT_ITEMS = {"gaj": "301", "scjgj": "302", "sthjj": "304", "cgj": "305", "mzj": "306", "wjw": "307",
              "zrzyghj": "308", "zjj": "309", "jtysj": "310", "slj": "311", "jyj": "312", "yjj": "313"}
FIELDS = [
    ("device_code", "设备编码", "string", "text", True),
    ("device_name", "设备名称", "string", "text", False),
    ("district_code", "所在区县代码", "string", "division_code", False),
    ("quantity", "监测量", "string", "text", True),
    ("hour", "小时（北京时间）", "datetime", "text", True),
    ("avg", "平均值", "decimal", "text", False),
    ("min", "最小值", "decimal", "text", False),
    ("max", "最大值", "decimal", "text", False),
    ("count", "读数条数", "integer", "text", False),
]


def class_code_for(org_code: str) -> str:
    key = org_code.split("-", 1)[1] if "-" in org_code else ""
    item = DEPT_ITEMS.get(key)
    return f"{item}901" if item else "201901"


def register_resource(session: Session, principal: Principal, profile_name: str, *,
                      publish: bool = False) -> dict[str, Any]:
    """Create (once) the catalogue resource for a profile's hourly telemetry; optionally publish it."""
    authorize(principal, "iot.profile")
    p = session.execute(select(Profile).where(Profile.name == profile_name)).scalar_one()
    if p.resource_code is None:
        quantities = list(p.quantities)
        qtext = "、".join(f"{q['label']}（{q['unit']}）" if q.get("unit") else q["label"] for q in quantities)
        data = ResourceIn(
            name=f"{p.label}监测数据（小时汇总）", class_code=class_code_for(p.org_code), class_name="物联感知数据",
            summary=f"统一物联感知平台汇聚的{p.label}监测数据，按设备、监测量和小时汇总：{qtext}。原始数据保留 "
                    f"{p.raw_retention_days} 天，之后归档。",
            provider_code=p.org_code, format="Parquet", share_type="有条件共享",
            share_condition="按需申请，经权属部门审核", share_method="数据接口", open_type=p.open_type,
            open_condition="" if p.open_type != "有条件开放" else "经审核后开放", update_cycle="实时",
            keywords=["物联感知", p.label, p.device_type],
            fields=[FieldIn(name=n, label=lbl, data_type=dt, element=el, grading="L1", nullable=not key,
                            is_key=key, position=i) for i, (n, lbl, dt, el, key) in enumerate(FIELDS)])
        res = catalog.create_resource(session, principal, data)
        p.resource_code = res.code
        record(session, principal, "iot.profile.resource", "iot_profile", p.name, {"resource": res.code})
    if publish:
        catalog.publish_direct(session, principal, p.resource_code)
    return {"catalog": True, "resource_code": p.resource_code}


def hourly_table(session: Session, profile_id: int, since_ms: int, until_ms: int) -> Any:
    import pyarrow as pa

    rows = session.execute(text(
        "SELECT d.code, d.name, d.district_code, r.quantity, r.bucket, r.total, r.n, r.vmin, r.vmax "
        "FROM iot_rollup r JOIN iot_device d ON d.id = r.device_id WHERE d.profile_id = :p AND r.grain = 'hour' "
        "AND r.bucket >= :a AND r.bucket < :b ORDER BY d.code, r.quantity, r.bucket"),
        {"p": profile_id, "a": since_ms, "b": until_ms}).all()
    cols: dict[str, list] = {n: [] for n, *_ in FIELDS}
    for code, name, dist, q, bucket, total, n, mn, mx in rows:
        cols["device_code"].append(code)
        cols["device_name"].append(name)
        cols["district_code"].append(dist or "")
        cols["quantity"].append(q)
        cols["hour"].append(datetime.fromtimestamp(bucket / 1000, UTC).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"))
        cols["avg"].append(round(total / n, 4) if n else None)
        cols["min"].append(mn)
        cols["max"].append(mx)
        cols["count"].append(n)
    return pa.table(cols)


def export_hourly(session: Session, principal: Principal, profile_name: str, days: int = 7) -> dict[str, Any]:
    """Replace the resource's lake data with the last ``days`` of hourly aggregates."""
    authorize(principal, "iot.profile")
    p = session.execute(select(Profile).where(Profile.name == profile_name)).scalar_one()
    if p.resource_code is None:
        return {"lake": True, "rows": 0, "message": "该档案尚未登记为目录资源"}
    now = now_ms()
    table = hourly_table(session, p.id, now - days * 86_400_000, now)
    if table.num_rows == 0:
        return {"lake": True, "rows": 0, "message": "没有可导出的小时汇总"}
    version = lake.ingest_table(session, principal, p.resource_code, table, mode="replace",
                                source_label=f"iot:{p.name}:hourly")
    return {"lake": True, "rows": table.num_rows, "version": getattr(version, "number", None),
            "resource_code": p.resource_code}


def export_all(session: Session, principal: Principal, days: int = 7) -> list[dict[str, Any]]:
    out = []
    for name in session.execute(select(Profile.name).where(Profile.resource_code.is_not(None))).scalars():
        with session.begin_nested():
            out.append({"profile": name, **export_hourly(session, principal, name, days)})
    return out


def window(days: int) -> tuple[datetime, datetime]:
    end = datetime.now(UTC)
    return end - timedelta(days=days), end
