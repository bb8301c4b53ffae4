"""Usage figures per dataset and day: views, downloads, API calls; the download log."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from citybase.core.time import SHANGHAI, utcnow
from citybase.opendata.models import DownloadLog, Usage

KINDS = ("view", "download", "api")


def _today() -> str:
    return utcnow().astimezone(SHANGHAI).date().isoformat()


def count(session: Session, code: str, kind: str, n: int = 1) -> None:
    """Add ``n`` to today's counter (not audited: counting reads is not a state change of record)."""
    day = _today()
    done = session.execute(update(Usage).where(Usage.resource_code == code, Usage.day == day, Usage.kind == kind)
                           .values(count=Usage.count + n)).rowcount
    if done:
        return
    try:
        with session.begin_nested():
            session.add(Usage(resource_code=code, day=day, kind=kind, count=n))
    except IntegrityError:
        session.execute(update(Usage).where(Usage.resource_code == code, Usage.day == day, Usage.kind == kind)
                        .values(count=Usage.count + n))


def visitor_id(key: str) -> str:
    return hashlib.sha256(("opendata:" + key).encode()).hexdigest()[:32]


def log_download(session: Session, code: str, fmt: str, visitor: str) -> None:
    session.add(DownloadLog(resource_code=code, visitor=visitor_id(visitor), fmt=fmt, at=utcnow()))
    count(session, code, "download")


def totals(session: Session, code: str | None = None) -> dict[str, int]:
    stmt = select(Usage.kind, func.sum(Usage.count)).group_by(Usage.kind)
    if code is not None:
        stmt = stmt.where(Usage.resource_code == code)
    got = {k: int(v or 0) for k, v in session.execute(stmt).all()}
    return {k: got.get(k, 0) for k in KINDS}


def per_dataset(session: Session) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for code, kind, n in session.execute(select(Usage.resource_code, Usage.kind, func.sum(Usage.count))
                                         .group_by(Usage.resource_code, Usage.kind)).all():
        out.setdefault(code, {k: 0 for k in KINDS})[kind] = int(n or 0)
    return out


def daily(session: Session, days: int = 30) -> list[dict[str, Any]]:
    start = (utcnow().astimezone(SHANGHAI).date() - timedelta(days=days - 1)).isoformat()
    rows = session.execute(select(Usage.day, Usage.kind, func.sum(Usage.count)).where(Usage.day >= start)
                           .group_by(Usage.day, Usage.kind)).all()
    by: dict[str, dict[str, int]] = {}
    for day, kind, n in rows:
        by.setdefault(day, {k: 0 for k in KINDS})[kind] = int(n or 0)
    return [{"day": d, **by[d]} for d in sorted(by)]


def downloaded_together(session: Session, code: str, limit: int = 5) -> list[str]:
    """Other datasets downloaded by the visitors who downloaded ``code`` (most shared visitors first)."""
    visitors = select(DownloadLog.visitor).where(DownloadLog.resource_code == code).distinct().limit(5000)
    rows = session.execute(select(DownloadLog.resource_code, DownloadLog.visitor)
                           .where(DownloadLog.visitor.in_(visitors), DownloadLog.resource_code != code)
                           .distinct()).all()
    c = Counter(r[0] for r in rows)
    return [k for k, _ in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]
