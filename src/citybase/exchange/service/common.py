"""Small helpers of the exchange service: JSON columns, the clock, organisation names, who is the bureau."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from citybase.catalog import service as catalog
from citybase.core.errors import PermissionDenied
from citybase.core.identity import service as identity
from citybase.core.identity.principal import Principal, authorize
from citybase.core.time import utcnow

ANSWER_WORKDAYS = 10
IMPLICIT_RATE_LIMIT = 600
MAX_PAGE = 1000
MAX_IN_VALUES = 1000
BATCH_ROWS = 65_536


def _l(value: Any) -> list[Any]:
    """A JSON list column's value; anything else reads as an empty list."""
    return list(value) if isinstance(value, list) else []


def _now(now: datetime | None = None) -> datetime:
    return now or utcnow()


def _resource(session: Session, code: str) -> Any:
    return catalog.get_resource(session, code)


def _org_names(session: Session) -> dict[str, str]:
    return {o.code: o.name for o in identity.all_orgs(session)}


def is_bureau(session: Session, principal: Principal) -> bool:
    return identity.in_bureau(session, principal)


def _require_org(principal: Principal) -> str:
    if not principal.org_code:
        raise PermissionDenied("只有隶属于政务部门的账号可以使用共享交换", code="no_org")
    return principal.org_code


def check_overview(session: Session, principal: Principal) -> None:
    authorize(principal, "exchange.overview")
    if not (principal.is_system or is_bureau(session, principal)):
        raise PermissionDenied("共享交换总览仅对大数据管理局的数据管理员开放", code="not_bureau")
