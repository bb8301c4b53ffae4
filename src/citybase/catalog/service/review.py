"""The review flow of a resource: submit, review, publish, withdraw."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from citybase.catalog.models import Resource
from citybase.catalog.schemas import (
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
    is_bureau,
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
