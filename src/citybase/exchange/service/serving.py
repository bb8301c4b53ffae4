"""Masked, audited serving: queries and streamed exports through an Access, on pooled DuckDB connections."""

from __future__ import annotations

import io
import queue
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy.orm import Session

from citybase.core.audit import service as audit
from citybase.core.errors import BadInput, NotFound
from citybase.core.identity.principal import Principal
from citybase.core.pagination import decode_cursor, encode_cursor
from citybase.core.ratelimit import Quota
from citybase.core.time import utcnow
from citybase.exchange.models import (
    ShareAccess,
)
from citybase.exchange.schemas import (
    QueryPage,
)
from citybase.exchange.service.access import Access, check_rate, resolve_access
from citybase.exchange.service.common import (
    BATCH_ROWS,
    MAX_PAGE,
)
from citybase.exchange.service.filters import _jsonable_filter, _where, validate_filter
from citybase.lake import duck
from citybase.lake import service as lake
from citybase.standards.sql import quote_ident

_POOL: queue.LifoQueue[duckdb.DuckDBPyConnection] = queue.LifoQueue(maxsize=8)


def _new_connection() -> duckdb.DuckDBPyConnection:
    """DuckDB with only the masking macros (the full standards set takes over a second to register)."""
    return duck.connect(macros="masks")


def _borrow() -> duckdb.DuckDBPyConnection:
    try:
        return _POOL.get_nowait()
    except queue.Empty:
        return _new_connection()


def _give_back(con: duckdb.DuckDBPyConnection) -> None:
    try:
        _POOL.put_nowait(con)
    except queue.Full:
        con.close()


_MASK_MACROS = {"name": "cb_mask_name", "cn_id_card": "cb_mask_id", "mobile": "cb_mask_mobile",
                "bank_card": "cb_mask_bank_card", "address": "cb_mask_address", "email": "cb_mask_email",
                "plate": "cb_mask_plate", "hidden": "cb_mask_hidden", "generic": "cb_mask_generic"}


def _select_list(access: Access, fields: list[str]) -> str:
    cols = []
    for n in fields:
        kind = access.masked.get(n)
        if kind is None:
            cols.append(quote_ident(n))
        else:  # the kind is fixed per column: call its macro directly (no per-row CASE)
            cols.append(f"{_MASK_MACROS.get(kind, 'cb_mask_generic')}({quote_ident(n)}) AS {quote_ident(n)}")
    return ", ".join(cols)


def _pick_fields(access: Access, wanted: list[str] | None) -> list[str]:
    if not wanted:
        return list(access.fields)
    out = []
    for n in wanted:
        if n not in access.fields:
            raise BadInput(f"信息项“{n}”不在本次授权范围内", code="field_not_granted",
                           detail={"field": n, "granted": access.fields})
        if n not in out:
            out.append(n)
    return out


def _caller_filter(access: Access, conditions: list[Any] | None) -> list[dict[str, Any]]:
    conds = validate_filter(access.resource, conditions or [])
    for c in conds:
        if c["field"] not in access.fields:
            raise BadInput(f"信息项“{c['field']}”不在本次授权范围内，不能用于筛选", code="field_not_granted",
                           detail={"field": c["field"]})
        if c["field"] in access.masked:
            raise BadInput(f"信息项“{c['field']}”按脱敏方式共享，不能用作筛选条件", code="filter_on_masked_field",
                           detail={"field": c["field"]})
    return conds


def _record_read(session: Session, principal: Principal, access: Access, *, channel: str, fields: list[str],
                 rows: int, filters: list[dict[str, Any]]) -> None:
    clear = [n for n in fields if n in access.clear_fields]
    detail = {"consumer": access.consumer_code, "grant": access.grant.id if access.grant else "implicit",
              "resource": access.resource.code, "provider": access.resource.provider_code,
              "version": access.version.number, "fields": fields, "masked_fields": [n for n in fields if n in access.masked],
              "clear_fields": clear, "row_count": rows, "purpose": access.purpose, "channel": channel,
              "token": principal.token_id, "filter": _jsonable_filter(filters)}
    entry = audit.record(session, principal, "exchange.read", "resource", access.resource.code, detail)
    session.add(ShareAccess(ts=utcnow(), resource_code=access.resource.code,
                            provider_code=access.resource.provider_code, consumer_code=access.consumer_code,
                            actor=principal.actor, grant_id=access.grant.id if access.grant else None,
                            channel=channel, version=access.version.number, fields=list(fields),
                            clear_fields=list(clear), row_count=rows, purpose=access.purpose[:2000],
                            audit_seq=entry.seq))
    session.flush()


def _source(access: Access) -> str:
    path = lake.parquet_glob(access.version).replace("'", "''")
    return f"read_parquet('{path}', filename=true, file_row_number=true)"


def query(session: Session, principal: Principal, code: str, *, grant_id: int | None = None,
          fields: list[str] | None = None, conditions: list[Any] | None = None, size: int = 100,
          cursor: str | None = None) -> tuple[QueryPage, Quota]:
    """One JSON page of shared rows (keyset pagination on the stored row position; the cursor pins the version)."""
    if not 1 <= size <= MAX_PAGE:
        raise BadInput(f"每页条数须在 1 到 {MAX_PAGE} 之间", code="bad_page_size", detail={"size": size})
    access = resolve_access(session, principal, code, grant_id)
    pos: tuple[str, int] | None = None
    if cursor:
        c = decode_cursor(cursor)
        try:
            number, pos = int(c["v"]), (str(c["f"]), int(c["r"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput("分页游标无效", code="bad_cursor") from exc
        if number != access.version.number:
            try:
                access.version = lake.get_version(session, code, number)
            except NotFound as exc:
                raise BadInput("分页游标对应的数据版本已不存在，请从第一页重新查询", code="stale_cursor") from exc
    picked = _pick_fields(access, fields)
    extra = _caller_filter(access, conditions)
    quota = check_rate(access, principal)
    where, params = _where(access.filters + extra)
    key_pred = ""
    if pos is not None:
        key_pred = " AND (parse_filename(filename) > ? OR (parse_filename(filename) = ? AND file_row_number > ?))"
        params += [pos[0], pos[0], pos[1]]
    sql = (f"SELECT parse_filename(filename) AS __f, file_row_number AS __r, {_select_list(access, picked)} "
           f"FROM {_source(access)} WHERE ({where}){key_pred} ORDER BY __f, __r LIMIT {size + 1}")
    con = _borrow()
    try:
        cur = con.execute(sql, params)
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
    finally:
        _give_back(con)
    more = len(rows) > size
    rows = rows[:size]
    items = []
    for r in rows:
        items.append({n: (v.isoformat() if isinstance(v, (date, datetime)) else
                          (float(v) if isinstance(v, Decimal) else v)) for n, v in zip(names[2:], r[2:], strict=True)})
    nxt = encode_cursor({"v": access.version.number, "f": rows[-1][0], "r": rows[-1][1]}) if more and rows else None
    _record_read(session, principal, access, channel="query", fields=picked, rows=len(items), filters=extra)
    page = QueryPage(resource_code=code, version=access.version.number,
                     grant_id=access.grant.id if access.grant else None, access=access.kind, fields=picked,
                     masked_fields=[n for n in picked if n in access.masked],
                     clear_fields=[n for n in picked if n in access.clear_fields], items=items, next_cursor=nxt)
    return page, quota


@dataclass
class ExportPlan:
    sql: str
    params: list[Any]
    fields: list[str]
    row_count: int
    filename: str
    fmt: str
    quota: Quota | None = None


def prepare_export(session: Session, principal: Principal, code: str, fmt: str, *, grant_id: int | None = None,
                   fields: list[str] | None = None, conditions: list[Any] | None = None) -> ExportPlan:
    """Authorise, count and audit an export; the rows are streamed afterwards by :func:`stream_export`."""
    if fmt not in ("csv", "parquet"):
        raise BadInput("导出格式只支持 csv 和 parquet", code="bad_format")
    access = resolve_access(session, principal, code, grant_id)
    picked = _pick_fields(access, fields)
    extra = _caller_filter(access, conditions)
    quota = check_rate(access, principal)
    where, params = _where(access.filters + extra)
    src = _source(access).replace(", filename=true, file_row_number=true", "")
    con = _borrow()
    try:
        count = int(con.execute(f"SELECT count(*) FROM {src} WHERE {where}", params).fetchall()[0][0])
    finally:
        _give_back(con)
    sql = f"SELECT {_select_list(access, picked)} FROM {src} WHERE {where}"
    _record_read(session, principal, access, channel=fmt, fields=picked, rows=count, filters=extra)
    name = f"{code}-v{access.version.number}.{fmt}"
    return ExportPlan(sql=sql, params=params, fields=picked, row_count=count, filename=name, fmt=fmt, quota=quota)


class _Sink(io.RawIOBase):
    """A write-only file that hands over what was written since the last ``take``."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:  # type: ignore[override]
        self.buf += bytes(b)
        return len(b)

    def take(self) -> bytes:
        out = bytes(self.buf)
        self.buf.clear()
        return out


def stream_export(plan: ExportPlan) -> Iterator[bytes]:
    """Rows as CSV (UTF-8 with BOM, for Excel) or Parquet, batch by batch; memory stays flat."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    con = _borrow()
    finished = False
    try:
        reader = con.sql(plan.sql, params=plan.params).to_arrow_reader(BATCH_ROWS)
        if plan.fmt == "csv":
            yield "\ufeff".encode()
            first = True
            for batch in reader:
                sink = io.BytesIO()
                pacsv.write_csv(batch, sink, write_options=pacsv.WriteOptions(include_header=first))
                first = False
                yield sink.getvalue()
            if first:  # no rows: still a header line
                sink = io.BytesIO()
                pacsv.write_csv(pa.Table.from_batches([], schema=reader.schema), sink)
                yield sink.getvalue()
        else:
            out = _Sink()
            writer = pq.ParquetWriter(out, reader.schema, compression="zstd")
            for batch in reader:
                writer.write_batch(batch)
                chunk = out.take()
                if chunk:
                    yield chunk
            writer.close()
            yield out.take()
        finished = True
    finally:
        if finished:
            _give_back(con)
        else:  # the client went away mid-stream: the connection still holds a result
            con.close()
