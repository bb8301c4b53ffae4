"""SQL sources: a department database pulled on its update cycle as the resource's next version."""

from __future__ import annotations

import time
from typing import Any

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from citybase.core.errors import BadInput, NotFound
from citybase.core.identity.principal import Principal
from citybase.core.time import utcnow
from citybase.lake import readers
from citybase.lake.models import LakeSqlSource
from citybase.lake.schemas import SqlSourceOut, VersionOut
from citybase.lake.service.ingest import ingest_table
from citybase.lake.service.uploads import _mask_url, _sql_out
from citybase.lake.service.versions import _resource


def get_sql_source(session: Session, resource_code: str) -> SqlSourceOut | None:
    row = session.get(LakeSqlSource, resource_code)
    return _sql_out(row) if row else None


def list_sql_sources(session: Session) -> list[SqlSourceOut]:
    return [_sql_out(r) for r in session.execute(select(LakeSqlSource).order_by(LakeSqlSource.resource_code)).scalars()]


def fetch_sql(url: str, query: str, timeout_s: int) -> pa.Table:
    """Run ``query`` with a hard timeout; the result as an Arrow table of the source's columns."""
    from sqlalchemy import create_engine, text

    from citybase.core.errors import CitybaseError

    engine = create_engine(url, pool_pre_ping=False)
    try:
        with engine.connect() as conn:
            dialect = engine.dialect.name
            if dialect == "postgresql":
                conn.exec_driver_sql(f"SET statement_timeout = {int(timeout_s * 1000)}")
            elif dialect in ("mysql", "mariadb"):
                conn.exec_driver_sql(f"SET SESSION MAX_EXECUTION_TIME={int(timeout_s * 1000)}")
            elif dialect == "sqlite":
                deadline = time.monotonic() + timeout_s
                raw = conn.connection.driver_connection
                raw.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 10000)
            started = time.monotonic()
            result = conn.execute(text(query))
            cols = list(result.keys())
            rows = result.fetchall()
            if time.monotonic() - started > timeout_s:
                raise _timeout(timeout_s)
    except CitybaseError:
        raise
    except Exception as exc:  # noqa: BLE001 - map driver errors to a clear message
        msg = str(exc).lower()
        if any(k in msg for k in ("statement timeout", "canceling statement", "interrupted", "max_execution_time",
                                  "timeout", "timed out")):
            raise _timeout(timeout_s) from None
        raise BadInput(f"数据库源读取失败：{str(exc).splitlines()[0][:300]}", code="sql_source_error") from None
    finally:
        engine.dispose()
    arrays = [pa.array([readers._cell_text(r[i]) for r in rows], type=pa.string()) for i in range(len(cols))]
    return pa.table(arrays, names=cols) if cols else pa.table({})


def _timeout(timeout_s: int) -> BadInput:
    return BadInput(f"数据库源查询超过 {timeout_s} 秒未完成，已中止；当前版本保持不变", code="sql_source_timeout",
                    detail={"timeout_s": timeout_s})


def pull_sql_source(session: Session, principal: Principal, resource_code: str) -> VersionOut:
    """Pull a registered SQL source now (the job worker calls this on the 更新周期)."""
    row = session.get(LakeSqlSource, resource_code)
    if row is None:
        raise NotFound("该资源未登记数据库源", code="no_sql_source")
    table = fetch_sql(row.url, row.query, row.timeout_s)
    return ingest_table(session, principal, resource_code, table, mode=row.mode,
                        source_label=f"数据库源 {_mask_url(row.url)}")


def record_pull(session: Session, resource_code: str, *, status: str, error: str = "",
                version: int | None = None) -> None:
    row = session.get(LakeSqlSource, resource_code)
    if row is None:
        return
    row.last_run_at, row.last_status, row.last_error = utcnow(), status, error[:2000]
    if version is not None:
        row.last_version = version


CYCLE_DAYS = {"实时": 0, "每日": 1, "每周": 7, "每月": 30, "每季度": 91, "每年": 365}


def sources_due(session: Session, now: Any = None) -> list[str]:
    """Enabled SQL sources whose last pull is older than the resource's 更新周期."""
    from datetime import timedelta

    now = now or utcnow()
    due = []
    for row in session.execute(select(LakeSqlSource).where(LakeSqlSource.enabled.is_(True))).scalars():
        try:
            res = _resource(session, row.resource_code)
        except NotFound:
            continue
        days = CYCLE_DAYS.get(res.update_cycle)
        if days is None:  # 不定期: pulled only on demand
            continue
        if row.last_run_at is None or now - row.last_run_at >= timedelta(days=days) - timedelta(minutes=5):
            due.append(row.resource_code)
    return due
