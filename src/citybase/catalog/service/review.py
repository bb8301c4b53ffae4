"""The review flow of a resource: submit, review, publish, withdraw; change requests for published ones."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from citybase.catalog.models import ChangeRequest, Resource
from citybase.catalog.schemas import (
    ResourceIn,
    ResourceOut,
)
from citybase.catalog.service.resources import (
    OBJECT_TYPE,
    _check_provider,
    _check_reviewer,
    _event,
    _is_admin,
    _load,
    _org_names,
    _touch,
    apply_update,
    diff,
    is_bureau,
    normalise,
    to_out,
)
from citybase.core.audit import service as audit
from citybase.core.errors import BadInput, IllegalTransition
from citybase.core.identity.principal import Principal, authorize
from citybase.core.time import SHANGHAI, utcnow


def _transition(session: Session, principal: Principal, res: Resource, allowed: tuple[str, ...], to: str,
                action: str, comment: str = "", detail: dict[str, Any] | None = None) -> ResourceOut:
    if res.status not in allowed:
        from citybase.catalog.schemas import STATUS_LABELS

        raise IllegalTransition(f"资源当前状态为“{STATUS_LABELS.get(res.status, res.status)}”，不能执行此操作",
                                code="illegal_transition", detail={"status": res.status, "action": action})
    old = res.status
    res.status = to
    now = utcnow()
    if to == "published":
        res.published_at = now
        if res.publish_date is None:
            res.publish_date = now.astimezone(SHANGHAI).date()
    _touch(session, res, content=False)
    _event(session, res, principal, action, old, comment)
    audit.record(session, principal, f"catalog.{action}", OBJECT_TYPE, res.code,
                 {"from": old, "to": to, **({"comment": comment} if comment else {}), **(detail or {})})
    session.flush()
    return to_out(res, _org_names(session, res.provider_code))


def submit(session: Session, principal: Principal, code: str) -> ResourceOut:
    """The provider's data officer sends a draft (or a returned resource) to the bureau for review."""
    authorize(principal, "catalog.submit")
    res = _load(session, code, lock=True)
    _check_provider(principal, res.provider_code)
    if not res.fields:
        raise BadInput("请至少填写一个信息项后再提交审核", code="no_fields")
    res.submitted_at = utcnow()
    res.review_comment = ""
    return _transition(session, principal, res, ("draft", "returned"), "submitted", "submit")


def review(session: Session, principal: Principal, code: str, approve: bool, comment: str = "") -> ResourceOut:
    """The bureau approves (the resource is published) or returns it with comments."""
    _check_reviewer(session, principal)
    res = _load(session, code, lock=True)
    comment = (comment or "").strip()
    if not approve and not comment:
        raise BadInput("退回时请填写修改意见", code="comment_required")
    res.reviewed_by, res.reviewed_at = principal.actor, utcnow()
    res.review_comment = comment
    if approve:
        return _transition(session, principal, res, ("submitted",), "published", "approve", comment)
    return _transition(session, principal, res, ("submitted",), "returned", "return", comment)


def publish(session: Session, principal: Principal, code: str) -> ResourceOut:
    """The bureau publishes a withdrawn resource again (it was reviewed before)."""
    _check_reviewer(session, principal)
    res = _load(session, code, lock=True)
    if res.status == "withdrawn" and res.reviewed_at is None and res.published_at is None:
        raise IllegalTransition("该资源从未审核通过，请由提供方提交审核", code="never_reviewed")
    return _transition(session, principal, res, ("withdrawn",), "published", "publish")


def withdraw(session: Session, principal: Principal, code: str, comment: str = "") -> ResourceOut:
    """Take a published resource out of the catalogue: the provider's data officer or the bureau."""
    res = _load(session, code, lock=True)
    if not ((principal.can("catalog.review") and is_bureau(session, principal)) or _is_admin(principal)):
        authorize(principal, "catalog.submit")
        _check_provider(principal, res.provider_code)
    return _transition(session, principal, res, ("published",), "withdrawn", "withdraw", (comment or "").strip())


def publish_direct(session: Session, principal: Principal, code: str) -> ResourceOut:
    """The admin publishes without review (imports with --publish and the demo only)."""
    authorize(principal, "catalog.publish_direct")
    res = _load(session, code, lock=True)
    if res.status == "published":
        return to_out(res, _org_names(session, res.provider_code))
    return _transition(session, principal, res, ("draft", "submitted", "returned", "withdrawn"), "published",
                       "publish_direct")


def request_change(session: Session, principal: Principal, code: str, data: ResourceIn) -> ChangeRequest | None:
    """Propose an edit of a published resource for the bureau to review; the resource stays as it is.

    One pending request per resource: proposing again replaces it. Returns None when ``data`` changes
    nothing (and withdraws a pending request that the new content makes moot)."""
    authorize(principal, "catalog.edit")
    res = _load(session, code, lock=True)
    _check_provider(principal, res.provider_code)
    _check_provider(principal, data.provider_code)
    if res.status != "published":
        raise IllegalTransition("只有已发布的资源需要变更申请，其他状态的资源可直接修改", code="not_published")
    d = normalise(data.model_copy(update={"code": code}))
    changed = diff(res, d)
    pending = pending_change(session, res.id)
    if not changed:
        if pending is not None:
            session.delete(pending)
            session.flush()
        return None
    if pending is None:
        pending = ChangeRequest(resource_id=res.id, requested_by=principal.actor)
        session.add(pending)
    pending.proposed, pending.changed = d.model_dump(mode="json"), changed
    pending.requested_by, pending.requested_at = principal.actor, utcnow()
    session.flush()
    _event(session, res, principal, "change_request", res.status, "申请变更：" + "、".join(changed))
    audit.record(session, principal, "catalog.change_request", OBJECT_TYPE, code,
                 {"change": pending.id, "changed": changed})
    session.flush()
    return pending


def pending_change(session: Session, resource_id: int) -> ChangeRequest | None:
    """The resource's change request waiting for review, if any."""
    return session.execute(select(ChangeRequest).where(ChangeRequest.resource_id == resource_id,
                                                       ChangeRequest.status == "pending")).scalar_one_or_none()


def pending_changes(session: Session) -> list[tuple[ChangeRequest, Resource]]:
    """Every change request waiting for the bureau, oldest first."""
    rows = session.execute(select(ChangeRequest, Resource).join(Resource, Resource.id == ChangeRequest.resource_id)
                           .where(ChangeRequest.status == "pending").order_by(ChangeRequest.requested_at))
    return [(c, r) for c, r in rows.all()]


def decide_change(session: Session, principal: Principal, change_id: int, approve: bool,
                  comment: str = "") -> ResourceOut:
    """The bureau applies a change request to the published resource, or rejects it with a reason."""
    _check_reviewer(session, principal)
    change = session.get(ChangeRequest, change_id) if 0 < change_id < 2**31 else None
    if change is None or change.status != "pending":
        from citybase.core.errors import NotFound

        raise NotFound("变更申请不存在或已处理", code="unknown_change")
    res = _load(session, session.get(Resource, change.resource_id).code, lock=True)
    comment = (comment or "").strip()
    if not approve and not comment:
        raise BadInput("驳回变更申请时请填写理由", code="comment_required")
    change.status = "approved" if approve else "rejected"
    change.reviewed_by, change.reviewed_at, change.comment = principal.actor, utcnow(), comment
    if not approve:
        _event(session, res, principal, "change_reject", res.status, comment)
        audit.record(session, principal, "catalog.change_reject", OBJECT_TYPE, res.code,
                     {"change": change.id, "comment": comment})
        session.flush()
        return to_out(res, _org_names(session, res.provider_code))
    d = normalise(ResourceIn.model_validate(change.proposed))
    out = apply_update(session, principal, res, d, list(change.changed))
    audit.record(session, principal, "catalog.change_approve", OBJECT_TYPE, res.code,
                 {"change": change.id, "changed": list(change.changed)})
    session.flush()
    return out
