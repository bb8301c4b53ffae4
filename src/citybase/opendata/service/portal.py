"""What the portal pages show: home figures, a dataset's page, related datasets, the bureau dashboard."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citybase.catalog.schemas import ResourceOut
from citybase.core.errors import CitybaseError
from citybase.core.identity import service as identity
from citybase.core.identity.principal import Principal, authorize
from citybase.lake import service as lake
from citybase.opendata.models import Application, Demand
from citybase.opendata.service import community, datastore, packages, usage
from citybase.opendata.service.public import OPEN, can_get_data, listed_resources, public_fields


def figures(session: Session) -> dict[str, Any]:
    items = listed_resources(session)
    records = 0
    with_data = 0
    for r in items:
        if r.open_type == OPEN:
            v = lake.current_version(session, r.code)
            if v is not None:
                records += v.row_count
                with_data += 1
    t = usage.totals(session)
    by_org: dict[str, int] = {}
    for r in items:
        by_org[r.provider_name] = by_org.get(r.provider_name, 0) + 1
    by_group: dict[str, int] = {}
    for r in items:
        by_group[packages.group_title(r)] = by_group.get(packages.group_title(r), 0) + 1
    return {"datasets": len(items), "open": sum(1 for r in items if r.open_type == OPEN),
            "conditional": sum(1 for r in items if r.open_type != OPEN),
            "departments": len({r.provider_code for r in items}), "records": records, "with_api": with_data,
            "downloads": t["download"], "api_calls": t["api"], "views": t["view"],
            "by_org": sorted(by_org.items(), key=lambda kv: -kv[1]),
            "by_group": sorted(by_group.items(), key=lambda kv: -kv[1]), "daily": usage.daily(session)}


def preview(session: Session, principal: Principal, res: ResourceOut, rows: int = 20) -> dict[str, Any] | None:
    if not can_get_data(session, principal, res):
        return None
    store = datastore.build_store(session, res)
    if store is None:
        return None
    out = datastore.search(store, limit=rows, include_total=True)
    return {"columns": store.columns, "records": out["records"], "total": out["total"], "version": store.version}


def quality_score(session: Session, code: str) -> float | None:
    try:
        from citybase.quality import service as quality

        return quality.score(session, code)
    except CitybaseError:
        return None


def related(session: Session, res: ResourceOut, limit: int = 6) -> list[dict[str, Any]]:
    """Related datasets: shared topic class, shared 信息项 names, downloaded together (most reasons first)."""
    items = {r.code: r for r in listed_resources(session) if r.code != res.code}
    reasons: dict[str, list[str]] = {}
    mine = {f.name for f in public_fields(res)}
    for code, r in items.items():
        if packages.group_name(r) == packages.group_name(res):
            reasons.setdefault(code, []).append("同一主题")
        shared = mine & {f.name for f in public_fields(r)}
        if shared:
            reasons.setdefault(code, []).append(f"共有字段 {len(shared)} 个")
    for code in usage.downloaded_together(session, res.code, limit=10):
        if code in items:
            reasons.setdefault(code, []).append("常被一起下载")
    ranked = sorted(reasons.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:limit]
    return [{"resource": items[c], "reasons": why} for c, why in ranked]


def dashboard(session: Session, principal: Principal) -> dict[str, Any]:
    authorize(principal, "opendata.dashboard")
    if not (principal.is_system or community.is_bureau_officer(session, principal)):
        from citybase.core.errors import PermissionDenied

        raise PermissionDenied("开放平台运营看板仅大数据管理局数据管理员可见", code="not_bureau")
    f = figures(session)
    per = usage.per_dataset(session)
    rows = []
    for r in listed_resources(session):
        u = per.get(r.code, {"view": 0, "download": 0, "api": 0})
        rows.append({"resource": r, **u})
    rows.sort(key=lambda x: -(x["view"] + x["download"] + x["api"]))
    demands = dict(session.execute(select(Demand.status, func.count()).group_by(Demand.status)).all())
    pending = session.execute(select(func.count()).select_from(Application)
                              .where(Application.status == "pending")).scalar_one()
    share_api = round(100.0 * f["with_api"] / f["datasets"], 1) if f["datasets"] else 0.0
    return {"figures": f, "rows": rows, "demands": demands, "pending_applications": int(pending),
            "share_api": share_api, "orgs": [o for o in identity.all_orgs(session)]}
