"""What the public may see: which datasets, which fields, and who may download what.

- Listed (metadata public): published resources whose 开放属性 is 无条件开放 or 有条件开放.
- Data served anonymously: only 无条件开放. 有条件开放 data goes to a logged-in user whose application
  the provider approved, with the same field rules.
- Fields graded L3/L4 are dropped from every public output (their names are listed as 不开放字段,
  never their values); L2 fields are masked (de-identified).
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from citybase.catalog import service as catalog
from citybase.catalog.schemas import FieldOut, ResourceOut
from citybase.core.errors import NotFound
from citybase.core.identity.principal import Principal
from citybase.opendata.models import Application

OPEN = "无条件开放"
CONDITIONAL = "有条件开放"
LISTED = (OPEN, CONDITIONAL)
PUBLIC_GRADINGS = ("L1", "L2")

_lock = threading.Lock()
_cache: dict[str, Any] = {"gen": None, "items": [], "by_code": {}}


def _refresh(session: Session) -> None:
    gen = catalog.generation(session)
    if _cache["gen"] == gen and _cache.get("url") == str(session.get_bind().url):
        return
    with _lock:
        items = [r for r in catalog.list_resources(session, status="published") if r.open_type in LISTED]
        _cache.update(gen=gen, url=str(session.get_bind().url), items=items, by_code={r.code: r for r in items})


def listed_resources(session: Session) -> list[ResourceOut]:
    """Datasets whose metadata is public, ordered by code (cached per catalogue generation)."""
    _refresh(session)
    return list(_cache["items"])


def listed_map(session: Session) -> dict[str, ResourceOut]:
    """code → dataset for every listed dataset (the cached mapping itself: do not modify)."""
    _refresh(session)
    return _cache["by_code"]


def get_listed(session: Session, code: str) -> ResourceOut:
    """A dataset whose metadata is public, else NotFound (never says whether a closed one exists)."""
    _refresh(session)
    res = _cache["by_code"].get(code)
    if res is None:
        raise NotFound(f"开放数据集不存在：{code}", code="unknown_dataset", detail={"id": code})
    return res


def public_fields(res: ResourceOut) -> list[FieldOut]:
    return [f for f in sorted(res.fields, key=lambda f: f.position) if f.grading in PUBLIC_GRADINGS]


def withheld_fields(res: ResourceOut) -> list[FieldOut]:
    """不开放字段: graded L3/L4; only their names are public."""
    return [f for f in sorted(res.fields, key=lambda f: f.position) if f.grading not in PUBLIC_GRADINGS]


def is_open(res: ResourceOut) -> bool:
    return res.status == "published" and res.open_type == OPEN


def approved_application(session: Session, principal: Principal, code: str) -> bool:
    if not principal.is_authenticated or principal.via == "system":
        return False
    row = session.execute(select(Application.id).where(
        Application.resource_code == code, Application.username == principal.username,
        Application.status == "approved")).first()
    return row is not None


def can_get_data(session: Session, principal: Principal, res: ResourceOut) -> bool:
    """May ``principal`` read the (public-safe) rows of ``res``?"""
    if is_open(res):
        return True
    if res.status == "published" and res.open_type == CONDITIONAL:
        return approved_application(session, principal, res.code)
    return False
