"""Ratings, comments, 需求通道 and applications for 有条件开放 data. Every change is audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citybase.core.audit import service as audit
from citybase.core.errors import BadInput, Conflict, IllegalTransition, NotFound, PermissionDenied
from citybase.core.identity import service as identity
from citybase.core.identity.principal import Principal, authorize
from citybase.core.time import utcnow
from citybase.opendata.models import Application, Comment, Demand, Rating
from citybase.opendata.service.public import CONDITIONAL, get_listed

REPORTS_TO_HIDE = 3


def _text(value: str, name: str, lo: int, hi: int) -> str:
    value = (value or "").strip()
    if not lo <= len(value) <= hi:
        raise BadInput(f"{name}须为 {lo}–{hi} 个字", code="bad_text", detail={"field": name})
    return value


def _bureau(session: Session) -> str:
    return identity.bureau_code(session)


def is_bureau_officer(session: Session, principal: Principal) -> bool:
    return identity.is_bureau_officer(session, principal)


# --------------------------------------------------------------------------- ratings & comments

def rate(session: Session, principal: Principal, code: str, stars: int) -> dict[str, Any]:
    authorize(principal, "opendata.apply")
    get_listed(session, code)
    if not isinstance(stars, int) or not 1 <= stars <= 5:
        raise BadInput("评分须为 1–5 星", code="bad_stars")
    row = session.execute(select(Rating).where(Rating.resource_code == code,
                                               Rating.username == principal.username)).scalar_one_or_none()
    if row is None:
        session.add(Rating(resource_code=code, username=principal.username, stars=stars, created_at=utcnow()))
    else:
        row.stars, row.created_at = stars, utcnow()
    session.flush()
    audit.record(session, principal, "opendata.rate", "opendata_dataset", code, {"stars": stars})
    return rating_of(session, code)


def rating_of(session: Session, code: str) -> dict[str, Any]:
    avg, n = session.execute(select(func.avg(Rating.stars), func.count(Rating.id))
                             .where(Rating.resource_code == code)).one()
    return {"average": round(float(avg), 1) if avg is not None else None, "count": int(n or 0)}


def public_author(principal: Principal) -> str:
    """How a comment is signed on the public portal: the masked name and the organisation (王*（无锡市公安局）),
    never the username."""
    from citybase.standards.masking import mask_name

    name = (principal.display_name or "").split("（")[0].strip()
    shown = mask_name(name) if name and name != principal.username else "用户"
    return f"{shown}（{principal.org_name}）" if principal.org_name else shown


def comment(session: Session, principal: Principal, code: str, body: str) -> Comment:
    authorize(principal, "opendata.apply")
    get_listed(session, code)
    body = _text(body, "评论", 2, 1000)
    row = Comment(resource_code=code, username=principal.username, author=public_author(principal), body=body,
                  created_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(session, principal, "opendata.comment", "opendata_comment", str(row.id), {"dataset": code})
    return row


def comments(session: Session, code: str) -> list[Comment]:
    return list(session.execute(select(Comment).where(Comment.resource_code == code, Comment.hidden.is_(False))
                                .order_by(Comment.id.desc()).limit(200)).scalars())


def report_comment(session: Session, principal: Principal, comment_id: int) -> Comment:
    """Anyone may report a comment; after three reports it is hidden until the bureau looks at it."""
    authorize(principal, "public")
    row = session.get(Comment, comment_id)
    if row is None or row.hidden:
        raise NotFound("评论不存在", code="unknown_comment")
    row.reports += 1
    if row.reports >= REPORTS_TO_HIDE:
        row.hidden = True
    audit.record(session, principal, "opendata.report_comment", "opendata_comment", str(row.id),
                 {"reports": row.reports, "hidden": row.hidden})
    return row


# --------------------------------------------------------------------------- 需求通道

def create_demand(session: Session, principal: Principal, title: str, description: str,
                  contact: str = "") -> Demand:
    authorize(principal, "public")
    row = Demand(title=_text(title, "需求标题", 4, 100), description=_text(description, "需求说明", 10, 2000),
                 requester=principal.username if principal.is_authenticated else "anonymous",
                 contact=(contact or "").strip()[:200], status="open", answer="", created_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(session, principal, "opendata.demand", "opendata_demand", str(row.id), {"title": row.title})
    return row


def route_demand(session: Session, principal: Principal, demand_id: int, org_code: str) -> Demand:
    authorize(principal, "opendata.route_demand")
    if not (principal.is_system or is_bureau_officer(session, principal)):
        raise PermissionDenied("只有大数据管理局的数据管理员可以分派数据需求", code="not_bureau")
    row = _demand(session, demand_id)
    if row.status == "answered":
        raise IllegalTransition("该需求已答复", code="demand_answered")
    org = identity.get_org(session, org_code)
    row.status, row.routed_to, row.routed_by, row.routed_at = "routed", org.code, principal.actor, utcnow()
    audit.record(session, principal, "opendata.route_demand", "opendata_demand", str(row.id), {"to": org.code})
    return row


def answer_demand(session: Session, principal: Principal, demand_id: int, answer: str,
                  resource_code: str | None = None) -> Demand:
    authorize(principal, "opendata.approve")
    row = _demand(session, demand_id)
    if row.status != "routed":
        raise IllegalTransition("只有已分派的需求可以答复", code="demand_not_routed")
    if not principal.is_system and principal.org_code != row.routed_to and not is_bureau_officer(session, principal):
        raise PermissionDenied("该需求未分派给本单位", code="not_routed_to_you")
    if resource_code:
        get_listed(session, resource_code)
    row.answer = _text(answer, "答复", 4, 2000)
    row.resource_code = resource_code or None
    row.status, row.answered_by, row.answered_at = "answered", principal.actor, utcnow()
    audit.record(session, principal, "opendata.answer_demand", "opendata_demand", str(row.id),
                 {"resource": resource_code})
    return row


def _demand(session: Session, demand_id: int) -> Demand:
    row = session.get(Demand, demand_id)
    if row is None:
        raise NotFound("数据需求不存在", code="unknown_demand")
    return row


def get_demand(session: Session, demand_id: int) -> Demand:
    return _demand(session, demand_id)


def list_demands(session: Session, *, status: str | None = None, routed_to: str | None = None,
                 limit: int = 200) -> list[Demand]:
    stmt = select(Demand).order_by(Demand.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(Demand.status == status)
    if routed_to:
        stmt = stmt.where(Demand.routed_to == routed_to)
    return list(session.execute(stmt).scalars())


def demand_public(row: Demand, org_names: dict[str, str]) -> dict[str, Any]:
    """What the public sees of a demand (never the requester or contact)."""
    return {"id": row.id, "title": row.title, "description": row.description, "status": row.status,
            "routed_to": org_names.get(row.routed_to or "", row.routed_to or ""), "answer": row.answer,
            "resource_code": row.resource_code, "created_at": row.created_at, "answered_at": row.answered_at}


# --------------------------------------------------------------------------- applications (有条件开放)

def apply(session: Session, principal: Principal, code: str, purpose: str, applicant: str = "") -> Application:
    authorize(principal, "opendata.apply")
    res = get_listed(session, code)
    if res.open_type != CONDITIONAL:
        raise BadInput("只有“有条件开放”的数据集需要申请", code="not_conditional")
    pending = session.execute(select(Application.id).where(
        Application.resource_code == code, Application.username == principal.username,
        Application.status.in_(("pending", "approved")))).first()
    if pending is not None:
        raise Conflict("您已提交过该数据集的申请（待审核或已通过）", code="duplicate_application")
    row = Application(resource_code=code, provider_code=res.provider_code, username=principal.username,
                      applicant=(applicant or principal.display_name or principal.username)[:200],
                      purpose=_text(purpose, "用途说明", 10, 2000), status="pending", comment="",
                      created_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(session, principal, "opendata.apply", "opendata_application", str(row.id),
                 {"dataset": code, "purpose": row.purpose[:200]})
    return row


def decide(session: Session, principal: Principal, application_id: int, approve: bool,
           comment: str = "") -> Application:
    authorize(principal, "opendata.approve")
    row = session.get(Application, application_id)
    if row is None:
        raise NotFound("申请不存在", code="unknown_application")
    if not principal.is_system and principal.org_code != row.provider_code:
        raise PermissionDenied("只有数据提供部门的数据管理员可以审批该申请", code="not_provider")
    if row.status != "pending":
        raise IllegalTransition("该申请已处理", code="application_decided")
    if not approve and not (comment or "").strip():
        raise BadInput("驳回申请须说明理由", code="reason_required")
    row.status = "approved" if approve else "rejected"
    row.decided_by, row.decided_at, row.comment = principal.actor, utcnow(), (comment or "").strip()[:1000]
    audit.record(session, principal, "opendata.decide", "opendata_application", str(row.id),
                 {"approve": approve, "dataset": row.resource_code, "applicant": row.username})
    return row


def applications_for_provider(session: Session, org_code: str) -> list[Application]:
    return list(session.execute(select(Application).where(Application.provider_code == org_code)
                                .order_by(Application.status != "pending", Application.id.desc())).scalars())


def applications_of(session: Session, username: str) -> list[Application]:
    return list(session.execute(select(Application).where(Application.username == username)
                                .order_by(Application.id.desc())).scalars())
