"""The one pagination helper: offset pages for lists people read, keyset for machine exports."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from citybase.core.errors import BadInput

T = TypeVar("T")
MAX_PAGE_SIZE = 500


@dataclass
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def check_page(page: int, size: int) -> None:
    """Refuse a page below 1 or a size outside 1…MAX_PAGE_SIZE with a clear Chinese error."""
    if page < 1:
        raise BadInput("页码必须从 1 开始", code="bad_page", detail={"page": page})
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise BadInput(f"每页条数必须在 1 到 {MAX_PAGE_SIZE} 之间", code="bad_page_size",
                       detail={"size": size})


def paginate(session: Session, stmt: Select, page: int = 1, size: int = 50, *, scalars: bool = True) -> Page[Any]:
    """Page ``page`` (from 1) of ``size`` rows of an ordered ``stmt``, with the total count.

    Every list that pages goes through here, and every list API answers in its shape:
    ``{"items": [...], "total": n, "page": p, "size": s}``. ``scalars=False`` for statements selecting
    several entities (the items are then row tuples). Out-of-range pages and sizes are a ``BadInput``."""
    check_page(page, size)
    total = session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    result = session.execute(stmt.limit(size).offset((page - 1) * size))
    rows = result.scalars().all() if scalars else [tuple(r) for r in result.all()]
    return Page(items=list(rows), total=total, page=page, size=size)


def with_items(page: Page[Any], items: list[T]) -> Page[T]:
    """The same page with its rows turned into output objects."""
    return Page(items=items, total=page.total, page=page.page, size=page.size)


def encode_cursor(values: dict[str, Any]) -> str:
    raw = json.dumps(values, ensure_ascii=False, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        pad = "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(cursor + pad))
        if not isinstance(data, dict):
            raise ValueError
        return data
    except (ValueError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadInput("分页游标无效", code="bad_cursor") from exc
