"""The 数据归集 overview: collection jobs, latest versions, failures and resources still waiting for data."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from citybase.core.identity import service as identity
from citybase.core.identity.principal import Principal, authorize
from citybase.lake.models import LakeIngestJob, LakeSqlSource, LakeVersion
from citybase.lake.service.versions import resources_with_data

JOB_STATUS = {"uploaded": "待开始", "running": "进行中", "done": "已完成", "failed": "失败"}


def overview(session: Session, principal: Principal, *, limit: int = 15) -> dict[str, Any]:
    """What a data officer looks at first: the bureau sees every department, a department its own."""
    from citybase.catalog import service as catalog

    authorize(principal, "lake.read")
    bureau = principal.is_system or identity.in_bureau(session, principal)
    published = [r for r in catalog.list_resources(session, status="published")
                 if bureau or r.provider_code == principal.org_code]
    names = {r.code: r.name for r in published}
    mine = set(names)
    with_data = set(resources_with_data(session))
    waiting = [r for r in published if r.code not in with_data]
    versions = [v for v in session.execute(select(LakeVersion).order_by(LakeVersion.created_at.desc())
                                           .limit(limit * 4)).scalars() if v.resource_code in mine][:limit]
    jobs = [j for j in session.execute(select(LakeIngestJob).order_by(LakeIngestJob.id.desc())
                                       .limit(limit * 4)).scalars() if j.resource_code in mine][:limit]
    sources = [s for s in session.execute(select(LakeSqlSource).order_by(LakeSqlSource.resource_code)).scalars()
               if s.resource_code in mine]
    failed = [j for j in jobs if j.status == "failed"] + [s for s in sources if s.last_status == "failed"]
    return {"bureau": bureau, "names": names, "published": len(published), "with_data": len(mine & with_data),
            "waiting": waiting, "versions": versions, "jobs": jobs, "sources": sources, "failed": failed,
            "job_status": JOB_STATUS}
