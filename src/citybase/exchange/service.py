"""共享交换: requests → grants → masked, audited serving; subscriptions and 属地回流.

Access follows the resource's 共享属性:
- 不予共享: never served (the catalogue requires the legal basis; it is quoted back to the caller);
- 无条件共享: any authenticated department reads without a request, through an *implicit grant*
  (every 信息项, no row filter, nothing in clear, default rate limit) — still masked, still audited;
- 有条件共享: only through an active, unexpired grant of the caller's organisation, created when the
  provider's data officer approves a request (possibly narrowing fields, rows, clear fields, period).
The provider's own organisation reads its resources through an implicit grant too.

Masking: every 信息项 the lake classes as personal (ID numbers, mobiles, names, addresses) or graded
L3/L4 is masked in DuckDB with the ``cb_mask_*`` macros, unless the grant names it in ``clear_fields``;
an L4 信息项 is therefore only ever served in clear when a grant names it explicitly. Every clear field
served is listed in the call's ledger entry.

Row filters are structured (信息项, operator, value), validated against the resource's 信息项 and
bound as parameters; callers never send SQL.
"""

from __future__ import annotations

import contextlib
import io
import json
import queue
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citybase.core.audit import service as audit
from citybase.core.calendar.service import calendar
from citybase.core.errors import BadInput, IllegalTransition, NotFound, PermissionDenied
from citybase.core.identity import service as identity
from citybase.core.identity.principal import SYSTEM, Principal, authorize
from citybase.core.pagination import decode_cursor, encode_cursor
from citybase.core.ratelimit import Quota, hit
from citybase.db import utcnow
from citybase.exchange.models import (
    Delivery,
    Notification,
    ShareAccess,
    ShareGrant,
    ShareRequest,
    Subscription,
)
from citybase.exchange.schemas import (
    GRANT_STATES,
    REQUEST_STATES,
    AccessOut,
    ApproveIn,
    Condition,
    GrantOut,
    NotificationOut,
    QueryPage,
    RejectIn,
    RequestIn,
    RequestOut,
    SubscribeIn,
    SubscriptionOut,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
ANSWER_WORKDAYS = 10
IMPLICIT_RATE_LIMIT = 600
MAX_PAGE = 1000
MAX_IN_VALUES = 1000
BATCH_ROWS = 65_536


# --------------------------------------------------------------------------- small helpers

def _j(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _l(text: str | None) -> list[Any]:
    try:
        out = json.loads(text or "[]")
    except ValueError:
        return []
    return out if isinstance(out, list) else []


def _now(now: datetime | None = None) -> datetime:
    return now or utcnow()


def _catalog() -> Any:
    from citybase.catalog import service as catalog

    return catalog


def _lake() -> Any:
    from citybase.lake import service as lake

    return lake


def _resource(session: Session, code: str) -> Any:
    return _catalog().get_resource(session, code)


def _org_names(session: Session) -> dict[str, str]:
    return {o.code: o.name for o in identity.all_orgs(session)}


def is_bureau(session: Session, principal: Principal) -> bool:
    return identity.in_bureau(session, principal)


def _require_org(principal: Principal) -> str:
    if not principal.org_code:
        raise PermissionDenied("只有隶属于政务部门的账号可以使用共享交换", code="no_org")
    return principal.org_code


def notify(session: Session, org_code: str, kind: str, title: str, body: str = "", link: str = "") -> None:
    session.add(Notification(org_code=org_code, kind=kind, title=title[:200], body=body, link=link[:300],
                             created_at=utcnow()))


# --------------------------------------------------------------------------- masking and filters

def mask_kind(f: Any) -> str | None:
    """How a 信息项 is masked when shared (None: served as stored)."""
    kind = _lake().field_mask_kind(f)
    if kind is None and f.grading in ("L3", "L4"):
        kind = "generic"
    return kind


def _field_map(res: Any) -> dict[str, Any]:
    return {f.name: f for f in res.fields}


def _check_names(res: Any, names: list[str], what: str) -> list[str]:
    known = _field_map(res)
    out: list[str] = []
    for n in names:
        n = str(n).strip()
        if n not in known:
            raise BadInput(f"{what}中的信息项“{n}”不属于资源 {res.code}", code="unknown_field",
                           detail={"field": n, "allowed": list(known)})
        if n not in out:
            out.append(n)
    return out


def _coerce(f: Any, value: Any) -> Any:
    """A filter value as the 信息项's data type (bound as a parameter, never pasted into SQL)."""
    if isinstance(value, (dict, list)) or value is None:
        raise ValueError("value")
    dt = f.data_type
    if dt == "integer":
        if isinstance(value, bool):
            raise ValueError("bool")
        return int(str(value).strip())
    if dt == "decimal":
        if isinstance(value, bool):
            raise ValueError("bool")
        return float(Decimal(str(value).strip()))
    if dt == "date":
        return date.fromisoformat(str(value).strip()[:10])
    if dt == "datetime":
        v = datetime.fromisoformat(str(value).strip())
        return v.replace(tzinfo=None) if v.tzinfo is None else v.astimezone(UTC).replace(tzinfo=None)
    if dt == "boolean":
        if isinstance(value, bool):
            return value
        s = str(value).strip().lower()
        if s in ("true", "1", "是", "yes"):
            return True
        if s in ("false", "0", "否", "no"):
            return False
        raise ValueError("bool")
    s = str(value)
    if len(s) > 200:
        raise ValueError("long")
    return s


def validate_filter(res: Any, conditions: list[Condition] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Check every condition against the resource's 信息项 and coerce its values; returns plain dicts."""
    known = _field_map(res)
    if len(conditions) > 20:
        raise BadInput("筛选条件最多 20 条", code="too_many_conditions")
    out: list[dict[str, Any]] = []
    for i, c in enumerate(conditions):
        try:
            cond = c if isinstance(c, Condition) else Condition.model_validate(c)
        except Exception as exc:  # noqa: BLE001 - pydantic ValidationError or a non-dict
            raise BadInput(f"第 {i + 1} 条筛选条件格式不正确：须为 {{field, op, value}}，op 取 =、in、between、prefix",
                           code="bad_filter", detail={"index": i}) from exc
        f = known.get(cond.field)
        if f is None:
            raise BadInput(f"筛选条件中的信息项“{cond.field}”不属于资源 {res.code}", code="unknown_field",
                           detail={"field": cond.field, "allowed": list(known)})
        try:
            if cond.op == "=":
                value: Any = _coerce(f, cond.value)
            elif cond.op == "in":
                if not isinstance(cond.value, list) or not 1 <= len(cond.value) <= MAX_IN_VALUES:
                    raise ValueError("in")
                value = [_coerce(f, v) for v in cond.value]
            elif cond.op == "between":
                if not isinstance(cond.value, list) or len(cond.value) != 2:
                    raise ValueError("between")
                value = [_coerce(f, v) for v in cond.value]
            else:  # prefix: text match on the value as stored
                value = str(cond.value if cond.value is not None else "")
                if not value or len(value) > 64 or isinstance(cond.value, (dict, list)):
                    raise ValueError("prefix")
        except (ValueError, TypeError, InvalidOperation) as exc:
            hint = {"in": "一个非空列表", "between": "两个值组成的列表"}.get(cond.op, f"一个{f.data_type}类型的值")
            raise BadInput(f"筛选条件“{f.label}”的取值不正确：应为{hint}", code="bad_filter_value",
                           detail={"field": cond.field, "op": cond.op}) from exc
        out.append({"field": cond.field, "op": cond.op, "value": value})
    return out


def _jsonable_filter(conds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def v(x: Any) -> Any:
        return x.isoformat() if isinstance(x, (date, datetime)) else x

    return [{"field": c["field"], "op": c["op"],
             "value": [v(x) for x in c["value"]] if isinstance(c["value"], list) else v(c["value"])} for c in conds]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _where(conds: list[dict[str, Any]]) -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    for c in conds:
        col = _q(c["field"])
        if c["op"] == "=":
            parts.append(f"{col} = ?")
            params.append(c["value"])
        elif c["op"] == "in":
            parts.append(f"{col} IN ({', '.join('?' for _ in c['value'])})")
            params += list(c["value"])
        elif c["op"] == "between":
            parts.append(f"{col} BETWEEN ? AND ?")
            params += list(c["value"])
        else:
            parts.append(f"starts_with(CAST({col} AS VARCHAR), ?)")
            params.append(c["value"])
    return (" AND ".join(parts) or "TRUE"), params


def describe_filter(res: Any, conds: list[dict[str, Any]]) -> str:
    """The row filter in words (for pages)."""
    from citybase.exchange.schemas import OP_LABELS

    labels = {f.name: f.label for f in res.fields} if res is not None else {}
    out = []
    for c in conds:
        v = c["value"]
        text = "、".join(str(x) for x in v) if isinstance(v, list) else str(v)
        if c["op"] == "between" and isinstance(v, list):
            text = f"{v[0]} 至 {v[1]}"
        out.append(f"{labels.get(c['field'], c['field'])} {OP_LABELS.get(c['op'], c['op'])} {text}")
    return "；".join(out) or "全部数据行"


# --------------------------------------------------------------------------- DuckDB connections

_POOL: queue.LifoQueue[duckdb.DuckDBPyConnection] = queue.LifoQueue(maxsize=8)


def _new_connection() -> duckdb.DuckDBPyConnection:
    """DuckDB with only the masking macros (the full standards set takes over a second to register)."""
    from citybase.lake.pipeline import MEMORY_LIMIT, THREADS
    from citybase.standards import sql as std_sql

    con = duckdb.connect(config={"threads": THREADS, "memory_limit": MEMORY_LIMIT})
    bodies = std_sql._macro_bodies()
    names = [n for n in std_sql.MACRO_NAMES if n.startswith("cb_mask_") and n != "cb_mask_value"]
    for name in [*names, "cb_mask_value"]:
        params, body = bodies[name]
        con.execute(f"CREATE OR REPLACE TEMP MACRO {name}({params}) AS {body}")
    return con


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


# --------------------------------------------------------------------------- access resolution

@dataclass
class Access:
    """What one caller may read of one resource right now."""

    resource: Any
    version: Any
    grant: ShareGrant | None
    fields: list[str]
    clear_fields: list[str]
    filters: list[dict[str, Any]]
    purpose: str
    rate_limit: int
    consumer_code: str
    masked: dict[str, str] = field(default_factory=dict)  # field → mask kind

    @property
    def kind(self) -> str:
        return "grant" if self.grant is not None else "implicit"


def _grant_state(g: ShareGrant, now: datetime) -> str:
    if g.status == "revoked":
        return "revoked"
    if g.expires_at <= now:
        return "expired"
    return "active"


def resolve_access(session: Session, principal: Principal, code: str, grant_id: int | None = None) -> Access:
    """Who may read what: raises PermissionDenied with a reason the caller can act on."""
    authorize(principal, "exchange.read")
    org = _require_org(principal)
    res = _resource(session, code)
    if res.status != "published":
        raise NotFound(f"资源 {code} 未在目录中发布", code="unknown_resource", detail={"resource_code": code})
    if res.share_type == "不予共享":
        raise PermissionDenied(f"资源“{res.name}”属于不予共享类，依据：{res.share_basis}", code="not_shareable",
                               detail={"resource_code": code, "share_basis": res.share_basis})
    now = utcnow()
    grant: ShareGrant | None = None
    if grant_id is not None:
        grant = session.get(ShareGrant, grant_id)
        if grant is None or grant.consumer_code != org or grant.resource_code != code:
            raise PermissionDenied("该授权不存在或不属于本单位", code="unknown_grant", detail={"grant_id": grant_id})
        state = _grant_state(grant, now)
        if state == "revoked":
            raise PermissionDenied("该授权已被提供部门撤销", code="grant_revoked",
                                   detail={"grant_id": grant_id, "reason": grant.revoke_reason})
        if state == "expired":
            raise PermissionDenied("该授权已过期，请重新申请", code="grant_expired", detail={"grant_id": grant_id})
    else:
        grant = session.execute(
            select(ShareGrant).where(ShareGrant.resource_code == code, ShareGrant.consumer_code == org,
                                     ShareGrant.status == "active", ShareGrant.expires_at > now)
            .order_by(ShareGrant.id.desc()).limit(1)).scalar_one_or_none()
    if grant is None and res.share_type != "无条件共享" and org != res.provider_code:
        raise PermissionDenied(f"资源“{res.name}”为有条件共享，本单位尚无有效授权；请先提交共享申请",
                               code="no_grant", detail={"resource_code": code,
                                                         "apply_url": f"/exchange/request?resource={code}"})
    version = _lake().current_version(session, code)
    if version is None:
        raise NotFound(f"资源“{res.name}”尚无数据", code="no_data", detail={"resource_code": code})
    stored = set(version.columns)
    ordered = [f.name for f in sorted(res.fields, key=lambda f: (f.position, f.name))]
    if grant is not None:
        allowed = set(_l(grant.fields)) or set(ordered)
        fields = [n for n in ordered if n in allowed and n in stored]
        clear = [n for n in _l(grant.clear_fields) if n in fields]
        filters = validate_filter(res, _l(grant.row_filter))
        purpose, limit = grant.purpose, grant.rate_limit_per_minute
    else:
        fields = [n for n in ordered if n in stored]
        clear, filters = [], []
        purpose = "本部门数据" if org == res.provider_code else "无条件共享"
        limit = IMPLICIT_RATE_LIMIT
    fmap = _field_map(res)
    masked = {n: k for n in fields if n not in clear and (k := mask_kind(fmap[n])) is not None}
    return Access(resource=res, version=version, grant=grant, fields=fields, clear_fields=clear, filters=filters,
                  purpose=purpose, rate_limit=limit, consumer_code=org, masked=masked)


def check_rate(access: Access, principal: Principal) -> Quota:
    key = f"exchange:{access.grant.id if access.grant else 'implicit:' + access.resource.code}:{access.consumer_code}"
    quota = hit(key, access.rate_limit)
    quota.raise_if_exceeded("调用过于频繁，已超过授权的每分钟调用次数")
    return quota


_MASK_MACROS = {"name": "cb_mask_name", "cn_id_card": "cb_mask_id", "mobile": "cb_mask_mobile",
                "bank_card": "cb_mask_bank_card", "address": "cb_mask_address", "email": "cb_mask_email",
                "plate": "cb_mask_plate", "generic": "cb_mask_generic"}


def _select_list(access: Access, fields: list[str]) -> str:
    cols = []
    for n in fields:
        kind = access.masked.get(n)
        if kind is None:
            cols.append(_q(n))
        else:  # the kind is fixed per column: call its macro directly (no per-row CASE)
            cols.append(f"{_MASK_MACROS.get(kind, 'cb_mask_generic')}({_q(n)}) AS {_q(n)}")
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
                            channel=channel, version=access.version.number, fields=_j(fields),
                            clear_fields=_j(clear), row_count=rows, purpose=access.purpose[:2000],
                            audit_seq=entry.seq))
    session.flush()


def _source(access: Access) -> str:
    path = _lake().parquet_glob(access.version).replace("'", "''")
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
                access.version = _lake().get_version(session, code, number)
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


# --------------------------------------------------------------------------- requests

def _due(session: Session, submitted: datetime) -> datetime:
    """End of the 10th working day after submission (Asia/Shanghai), as UTC."""
    day = submitted.astimezone(SHANGHAI).date()
    due_day = calendar(session).add_workdays(day, ANSWER_WORKDAYS)
    return datetime.combine(due_day, time(23, 59, 59), tzinfo=SHANGHAI).astimezone(UTC)


def _request_out(session: Session, r: ShareRequest, names: dict[str, str] | None = None,
                 res: Any = None, now: datetime | None = None) -> RequestOut:
    names = names if names is not None else _org_names(session)
    now = _now(now)
    if res is None:
        res = _catalog().find_resource(session, r.resource_code)
    due_day = r.due_at.astimezone(SHANGHAI).date()
    left = None
    if r.status == "pending":
        left = calendar(session).workdays_between(now.astimezone(SHANGHAI).date(), due_day)
    return RequestOut(id=r.id, resource_code=r.resource_code, resource_name=res.name if res else r.resource_code,
                      provider_code=r.provider_code, provider_name=names.get(r.provider_code, r.provider_code),
                      consumer_code=r.consumer_code, consumer_name=names.get(r.consumer_code, r.consumer_code),
                      requested_by=r.requested_by, fields=_l(r.fields), clear_fields=_l(r.clear_fields),
                      row_filter=_l(r.row_filter), purpose=r.purpose, legal_basis=r.legal_basis,
                      period_days=r.period_days, status=r.status, status_label=REQUEST_STATES.get(r.status, r.status),
                      submitted_at=r.submitted_at, due_at=r.due_at, due_date=due_day.isoformat(),
                      workdays_left=left, overdue=(r.status == "pending" and now > r.due_at) or r.in_time is False,
                      decided_at=r.decided_at, decided_by=r.decided_by, decision_reason=r.decision_reason,
                      in_time=r.in_time, grant_id=r.grant_id,
                      field_labels={f.name: f.label for f in res.fields} if res else {})


def create_request(session: Session, principal: Principal, data: RequestIn, *, now: datetime | None = None) -> RequestOut:
    """A consumer department asks for (part of) a resource. ``now`` is for tests and imports only."""
    authorize(principal, "exchange.request")
    org = _require_org(principal)
    res = _catalog().find_resource(session, data.resource_code)
    if res is None or res.status != "published":
        raise NotFound(f"目录中没有已发布的资源 {data.resource_code}", code="unknown_resource",
                       detail={"resource_code": data.resource_code})
    if res.share_type == "不予共享":
        raise PermissionDenied(f"资源“{res.name}”属于不予共享类，不受理共享申请。依据：{res.share_basis}",
                               code="not_shareable", detail={"share_basis": res.share_basis})
    if res.provider_code == org:
        raise BadInput("这是本单位提供的资源，无需申请", code="own_resource")
    fields = _check_names(res, data.fields, "申请的信息项")
    clear = _check_names(res, data.clear_fields, "申请明文的信息项")
    if fields and any(c not in fields for c in clear):
        raise BadInput("申请明文的信息项必须包含在申请的信息项中", code="clear_not_requested")
    conds = validate_filter(res, data.row_filter)
    pending = session.execute(select(ShareRequest.id).where(
        ShareRequest.resource_code == res.code, ShareRequest.consumer_code == org,
        ShareRequest.status == "pending")).first()
    if pending is not None:
        raise IllegalTransition("本单位对该资源已有待审批的申请，请等待答复或先撤回", code="duplicate_request",
                                detail={"request_id": pending[0]})
    submitted = _now(now)
    r = ShareRequest(resource_code=res.code, provider_code=res.provider_code, consumer_code=org,
                     requested_by=principal.actor, fields=_j(fields), clear_fields=_j(clear),
                     row_filter=_j(_jsonable_filter(conds)), purpose=data.purpose, legal_basis=data.legal_basis,
                     period_days=data.period_days, status="pending", submitted_at=submitted,
                     due_at=_due(session, submitted), decision_reason="")
    session.add(r)
    session.flush()
    audit.record(session, principal, "exchange.request", "share_request", r.id,
                 {"resource": res.code, "provider": res.provider_code, "consumer": org, "fields": fields,
                  "clear_fields": clear, "filter": _jsonable_filter(conds), "purpose": data.purpose,
                  "legal_basis": data.legal_basis, "period_days": data.period_days, "due_at": r.due_at.isoformat()})
    notify(session, res.provider_code, "request", f"新的共享申请：{res.name}",
           f"{principal.org_name or org} 申请共享，请在 {r.due_at.astimezone(SHANGHAI):%Y-%m-%d} 前答复。",
           f"/exchange/requests/{r.id}")
    return _request_out(session, r, res=res, now=submitted)


def _load_request(session: Session, request_id: int) -> ShareRequest:
    r = session.get(ShareRequest, request_id)
    if r is None:
        raise NotFound("共享申请不存在", code="unknown_request", detail={"request_id": request_id})
    return r


def can_see_request(session: Session, principal: Principal, r: ShareRequest) -> bool:
    return principal.org_code in (r.consumer_code, r.provider_code) or (
        principal.can("exchange.overview") and is_bureau(session, principal))


def get_request(session: Session, principal: Principal, request_id: int) -> RequestOut:
    if not (principal.can("exchange.request") or principal.can("exchange.approve")):
        authorize(principal, "exchange.request")
    r = _load_request(session, request_id)
    if not can_see_request(session, principal, r):
        raise NotFound("共享申请不存在", code="unknown_request", detail={"request_id": request_id})
    return _request_out(session, r)


def _check_provider_officer(principal: Principal, r: ShareRequest | ShareGrant) -> None:
    authorize(principal, "exchange.approve")
    if principal.org_code != r.provider_code:
        raise PermissionDenied("只有资源提供部门的数据管理员可以审批或撤销", code="not_provider",
                               detail={"provider_code": r.provider_code})


def approve(session: Session, principal: Principal, request_id: int, data: ApproveIn, *,
            now: datetime | None = None) -> GrantOut:
    """Approve (possibly narrowing) and create the grant bound to the consumer organisation."""
    r = _load_request(session, request_id)
    _check_provider_officer(principal, r)
    if r.status != "pending":
        raise IllegalTransition(f"该申请已{REQUEST_STATES.get(r.status, r.status)}，不能再审批", code="not_pending")
    res = _resource(session, r.resource_code)
    asked = _l(r.fields)
    asked_clear = _l(r.clear_fields)
    fields = _check_names(res, data.fields, "批准的信息项") if data.fields is not None else list(asked)
    if asked and any(f not in asked for f in fields):
        raise BadInput("批准的信息项不能超出申请范围", code="exceeds_request")
    if data.fields is not None and not fields:
        raise BadInput("至少批准一个信息项；如不同意共享请驳回", code="no_fields")
    clear = _check_names(res, data.clear_fields, "批准明文的信息项") if data.clear_fields is not None \
        else list(asked_clear)
    if any(c not in asked_clear for c in clear):
        raise BadInput("批准明文的信息项不能超出申请范围", code="exceeds_request")
    if fields and any(c not in fields for c in clear):
        raise BadInput("明文信息项必须在批准的信息项之内", code="clear_not_granted")
    asked_filter = validate_filter(res, _l(r.row_filter))
    conds = validate_filter(res, data.row_filter) if data.row_filter is not None else asked_filter
    asked_json = _jsonable_filter(asked_filter)
    got_json = _jsonable_filter(conds)
    if any(c not in got_json for c in asked_json):
        raise BadInput("批准的筛选条件须包含申请时的全部条件（只能进一步收窄）", code="exceeds_request")
    period = data.period_days or r.period_days
    if period > r.period_days:
        raise BadInput("批准的使用期限不能超过申请期限", code="exceeds_request")
    when = _now(now)
    g = ShareGrant(resource_code=r.resource_code, provider_code=r.provider_code, consumer_code=r.consumer_code,
                   request_id=r.id, fields=_j(fields), clear_fields=_j(clear), row_filter=_j(got_json),
                   purpose=r.purpose, legal_basis=r.legal_basis, expires_at=when + timedelta(days=period),
                   rate_limit_per_minute=data.rate_limit_per_minute, status="active", created_at=when,
                   created_by=principal.actor, revoke_reason="")
    session.add(g)
    session.flush()
    r.status, r.decided_at, r.decided_by = "approved", when, principal.actor
    r.decision_reason, r.in_time, r.grant_id = data.comment, when <= r.due_at, g.id
    narrowed = fields != asked or clear != asked_clear or got_json != asked_json or period != r.period_days
    audit.record(session, principal, "exchange.approve", "share_request", r.id,
                 {"grant": g.id, "resource": r.resource_code, "consumer": r.consumer_code, "fields": fields,
                  "clear_fields": clear, "filter": got_json, "expires_at": g.expires_at.isoformat(),
                  "rate_limit_per_minute": g.rate_limit_per_minute, "narrowed": narrowed, "in_time": r.in_time})
    notify(session, r.consumer_code, "approved", f"共享申请已批准：{res.name}",
           ("提供部门收窄了共享范围。" if narrowed else "") + (data.comment or ""), f"/exchange/grants/{g.id}")
    return _grant_out(session, g, res=res)


def reject(session: Session, principal: Principal, request_id: int, data: RejectIn, *,
           now: datetime | None = None) -> RequestOut:
    r = _load_request(session, request_id)
    _check_provider_officer(principal, r)
    if r.status != "pending":
        raise IllegalTransition(f"该申请已{REQUEST_STATES.get(r.status, r.status)}，不能再审批", code="not_pending")
    when = _now(now)
    r.status, r.decided_at, r.decided_by, r.decision_reason = "rejected", when, principal.actor, data.reason
    r.in_time = when <= r.due_at
    audit.record(session, principal, "exchange.reject", "share_request", r.id,
                 {"resource": r.resource_code, "consumer": r.consumer_code, "reason": data.reason,
                  "in_time": r.in_time})
    notify(session, r.consumer_code, "rejected", f"共享申请被驳回：{r.resource_code}", data.reason,
           f"/exchange/requests/{r.id}")
    return _request_out(session, r, now=when)


def withdraw(session: Session, principal: Principal, request_id: int) -> RequestOut:
    authorize(principal, "exchange.request")
    r = _load_request(session, request_id)
    if principal.org_code != r.consumer_code:
        raise PermissionDenied("只能撤回本单位的申请", code="not_consumer")
    if r.status != "pending":
        raise IllegalTransition("只有待审批的申请可以撤回", code="not_pending")
    r.status, r.decided_at, r.decided_by = "withdrawn", utcnow(), principal.actor
    audit.record(session, principal, "exchange.withdraw", "share_request", r.id, {"resource": r.resource_code})
    return _request_out(session, r)


def list_requests(session: Session, principal: Principal, *, box: str = "mine", status: str | None = None,
                  now: datetime | None = None) -> list[RequestOut]:
    """``box``: mine (my organisation asked), inbox (my organisation provides), all (the bureau)."""
    if box == "inbox":
        authorize(principal, "exchange.approve")
        stmt = select(ShareRequest).where(ShareRequest.provider_code == _require_org(principal))
    elif box == "all":
        check_overview(session, principal)
        stmt = select(ShareRequest)
    elif box == "mine":
        authorize(principal, "exchange.request")
        stmt = select(ShareRequest).where(ShareRequest.consumer_code == _require_org(principal))
    else:
        raise BadInput("box 只能是 mine、inbox 或 all", code="bad_box")
    if status == "overdue":
        stmt = stmt.where(ShareRequest.status == "pending", ShareRequest.due_at < _now(now))
    elif status:
        if status not in REQUEST_STATES:
            raise BadInput("未知的申请状态", code="bad_status", detail={"allowed": list(REQUEST_STATES)})
        stmt = stmt.where(ShareRequest.status == status)
    rows = session.execute(stmt.order_by(ShareRequest.id.desc()).limit(500)).scalars().all()
    names = _org_names(session)
    res_by_code = {r.code: r for r in _catalog().get_many(session, sorted({x.resource_code for x in rows}))}
    return [_request_out(session, r, names, res_by_code.get(r.resource_code), now) for r in rows]


def flag_overdue(session: Session, *, now: datetime | None = None) -> list[int]:
    """Flag pending requests past their deadline to the big-data bureau (once each). Run by a periodic job."""
    when = _now(now)
    rows = session.execute(select(ShareRequest).where(ShareRequest.status == "pending",
                                                      ShareRequest.due_at < when,
                                                      ShareRequest.overdue_flagged_at.is_(None))).scalars().all()
    if not rows:
        return []
    bureau = identity.bureau_code(session)
    for r in rows:
        r.overdue_flagged_at = when
        audit.record(session, SYSTEM, "exchange.overdue", "share_request", r.id,
                     {"resource": r.resource_code, "provider": r.provider_code, "consumer": r.consumer_code,
                      "due_at": r.due_at.isoformat()})
        notify(session, bureau, "overdue", f"共享申请超期未答复：{r.resource_code}",
               f"提供部门 {r.provider_code} 未在 10 个工作日内答复 {r.consumer_code} 的申请。",
               f"/exchange/requests/{r.id}")
        notify(session, r.provider_code, "overdue", f"共享申请已超期：{r.resource_code}",
               "已超过 10 个工作日答复时限，已报大数据管理局。", f"/exchange/requests/{r.id}")
    return [r.id for r in rows]


def has_requests(session: Session) -> bool:
    return session.execute(select(ShareRequest.id).limit(1)).first() is not None


# --------------------------------------------------------------------------- grants

def _grant_out(session: Session, g: ShareGrant, names: dict[str, str] | None = None, res: Any = None) -> GrantOut:
    names = names if names is not None else _org_names(session)
    if res is None:
        res = _catalog().find_resource(session, g.resource_code)
    state = _grant_state(g, utcnow())
    return GrantOut(id=g.id, resource_code=g.resource_code, resource_name=res.name if res else g.resource_code,
                    provider_code=g.provider_code, provider_name=names.get(g.provider_code, g.provider_code),
                    consumer_code=g.consumer_code, consumer_name=names.get(g.consumer_code, g.consumer_code),
                    request_id=g.request_id, fields=_l(g.fields), clear_fields=_l(g.clear_fields),
                    row_filter=_l(g.row_filter), purpose=g.purpose, legal_basis=g.legal_basis,
                    expires_at=g.expires_at, rate_limit_per_minute=g.rate_limit_per_minute, status=state,
                    status_label=GRANT_STATES[state], created_at=g.created_at, created_by=g.created_by,
                    revoked_at=g.revoked_at, revoked_by=g.revoked_by, revoke_reason=g.revoke_reason,
                    field_labels={f.name: f.label for f in res.fields} if res else {})


def get_grant(session: Session, principal: Principal, grant_id: int) -> GrantOut:
    authorize(principal, "exchange.read")
    g = session.get(ShareGrant, grant_id)
    if g is None or principal.org_code not in (g.consumer_code, g.provider_code) and not (
            principal.can("exchange.overview") and is_bureau(session, principal)):
        raise NotFound("授权不存在", code="unknown_grant", detail={"grant_id": grant_id})
    return _grant_out(session, g)


def list_grants(session: Session, principal: Principal, *, side: str = "consumer") -> list[GrantOut]:
    """Grants my organisation holds (consumer) or has given (provider)."""
    authorize(principal, "exchange.read")
    org = _require_org(principal)
    if side == "consumer":
        stmt = select(ShareGrant).where(ShareGrant.consumer_code == org)
    elif side == "provider":
        stmt = select(ShareGrant).where(ShareGrant.provider_code == org)
    else:
        raise BadInput("side 只能是 consumer 或 provider", code="bad_side")
    rows = session.execute(stmt.order_by(ShareGrant.id.desc()).limit(500)).scalars().all()
    names = _org_names(session)
    res_by_code = {r.code: r for r in _catalog().get_many(session, sorted({x.resource_code for x in rows}))}
    return [_grant_out(session, g, names, res_by_code.get(g.resource_code)) for g in rows]


def revoke(session: Session, principal: Principal, grant_id: int, reason: str = "") -> GrantOut:
    """Immediate: the next call with this grant is refused."""
    g = session.get(ShareGrant, grant_id)
    if g is None:
        raise NotFound("授权不存在", code="unknown_grant", detail={"grant_id": grant_id})
    _check_provider_officer(principal, g)
    if g.status == "revoked":
        raise IllegalTransition("该授权已撤销", code="already_revoked")
    g.status, g.revoked_at, g.revoked_by, g.revoke_reason = "revoked", utcnow(), principal.actor, reason
    audit.record(session, principal, "exchange.revoke", "share_grant", g.id,
                 {"resource": g.resource_code, "consumer": g.consumer_code, "reason": reason})
    notify(session, g.consumer_code, "revoked", f"共享授权已撤销：{g.resource_code}", reason,
           f"/exchange/grants/{g.id}")
    return _grant_out(session, g)


# --------------------------------------------------------------------------- access log and overview

def access_log(session: Session, principal: Principal, code: str, *, limit: int = 200) -> list[AccessOut]:
    """Who read the resource: for its provider's data officers (and the bureau's)."""
    authorize(principal, "exchange.log")
    res = _resource(session, code)
    if principal.org_code != res.provider_code and not is_bureau(session, principal):
        raise PermissionDenied("只有资源提供部门可以查看访问记录", code="not_provider")
    rows = session.execute(select(ShareAccess).where(ShareAccess.resource_code == code)
                           .order_by(ShareAccess.id.desc()).limit(max(1, min(limit, 1000)))).scalars().all()
    names = _org_names(session)
    return [AccessOut(id=a.id, ts=a.ts, resource_code=a.resource_code, consumer_code=a.consumer_code,
                      consumer_name=names.get(a.consumer_code, a.consumer_code), actor=a.actor, grant_id=a.grant_id,
                      channel=a.channel, version=a.version, fields=_l(a.fields), clear_fields=_l(a.clear_fields),
                      row_count=a.row_count, purpose=a.purpose) for a in rows]


def check_overview(session: Session, principal: Principal) -> None:
    authorize(principal, "exchange.overview")
    if not (principal.is_system or is_bureau(session, principal)):
        raise PermissionDenied("共享交换总览仅对大数据管理局的数据管理员开放", code="not_bureau")


def overview(session: Session, principal: Principal, *, now: datetime | None = None) -> dict[str, Any]:
    """Requests by state, overdue, most-shared resources and 公共数据按需共享率.

    按需共享率 = requests answered within 10 working days / requests that are due or answered
    (pending requests still inside their deadline are not counted yet; withdrawn ones never)."""
    check_overview(session, principal)
    when = _now(now)
    by_state = dict(session.execute(select(ShareRequest.status, func.count()).group_by(ShareRequest.status)).all())
    overdue_pending = session.execute(select(func.count()).select_from(ShareRequest).where(
        ShareRequest.status == "pending", ShareRequest.due_at < when)).scalar_one()
    answered_in_time = session.execute(select(func.count()).select_from(ShareRequest).where(
        ShareRequest.in_time.is_(True))).scalar_one()
    answered_late = session.execute(select(func.count()).select_from(ShareRequest).where(
        ShareRequest.in_time.is_(False))).scalar_one()
    denominator = answered_in_time + answered_late + overdue_pending
    rate = round(100.0 * answered_in_time / denominator, 1) if denominator else None
    top = session.execute(select(ShareAccess.resource_code, func.count(), func.sum(ShareAccess.row_count))
                          .group_by(ShareAccess.resource_code).order_by(func.count().desc()).limit(10)).all()
    res_by_code = {r.code: r for r in _catalog().get_many(session, [t[0] for t in top])}
    grants_active = session.execute(select(func.count()).select_from(ShareGrant).where(
        ShareGrant.status == "active", ShareGrant.expires_at > when)).scalar_one()
    overdue_list = list_requests(session, principal, box="all", status="overdue", now=when)
    return {
        "by_state": {k: int(by_state.get(k, 0)) for k in REQUEST_STATES},
        "state_labels": REQUEST_STATES,
        "total": int(sum(by_state.values())),
        "overdue": int(overdue_pending),
        "answered_in_time": int(answered_in_time),
        "answered_late": int(answered_late),
        "response_rate": rate,
        "grants_active": int(grants_active),
        "most_shared": [{"resource_code": c, "name": res_by_code[c].name if c in res_by_code else c,
                         "calls": int(n), "rows": int(rows or 0)} for c, n, rows in top],
        "overdue_requests": [o.model_dump(mode="json") for o in overdue_list],
    }


# --------------------------------------------------------------------------- notifications

def notifications(session: Session, principal: Principal, *, unread_only: bool = False,
                  limit: int = 100) -> list[NotificationOut]:
    authorize(principal, "exchange.read")
    stmt = select(Notification).where(Notification.org_code == _require_org(principal))
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    rows = session.execute(stmt.order_by(Notification.id.desc()).limit(limit)).scalars()
    return [NotificationOut(id=n.id, kind=n.kind, title=n.title, body=n.body, link=n.link, created_at=n.created_at,
                            read_at=n.read_at) for n in rows]


def unread_count(session: Session, principal: Principal) -> int:
    if not principal.can("exchange.read") or not principal.org_code:
        return 0
    return session.execute(select(func.count()).select_from(Notification).where(
        Notification.org_code == principal.org_code, Notification.read_at.is_(None))).scalar_one()


def mark_read(session: Session, principal: Principal, notification_id: int | None = None) -> int:
    """Mark one (or, with None, all) of my organisation's notifications read."""
    authorize(principal, "exchange.read")
    stmt = select(Notification).where(Notification.org_code == _require_org(principal),
                                      Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    rows = session.execute(stmt).scalars().all()
    for n in rows:
        n.read_at = utcnow()
    if rows:
        audit.record(session, principal, "exchange.notifications_read", "organisation", principal.org_code,
                     {"count": len(rows)})
    return len(rows)


# --------------------------------------------------------------------------- subscriptions and 属地回流

_DISTRICT_NAMES = ("district", "qx", "qxdm", "xzqh", "区县", "所属区", "所在区")


def _district_field(res: Any, wanted: str | None) -> str:
    fmap = _field_map(res)
    if wanted:
        if wanted not in fmap:
            raise BadInput(f"信息项“{wanted}”不属于资源 {res.code}", code="unknown_field")
        return wanted
    for f in sorted(res.fields, key=lambda f: f.position):
        if f.element == "division_code":
            return f.name
    for f in res.fields:
        if any(k in f.name.lower() or k in (f.label or "") for k in _DISTRICT_NAMES):
            return f.name
    raise BadInput(f"资源“{res.name}”没有行政区划代码或所属区信息项，无法按区回流", code="no_district_field")


def _sub_out(session: Session, s: Subscription, names: dict[str, str] | None = None) -> SubscriptionOut:
    names = names if names is not None else _org_names(session)
    res = _catalog().find_resource(session, s.resource_code)
    return SubscriptionOut(id=s.id, resource_code=s.resource_code, resource_name=res.name if res else s.resource_code,
                           subscriber_code=s.subscriber_code,
                           subscriber_name=names.get(s.subscriber_code, s.subscriber_code),
                           district_code=s.district_code, filter_field=s.filter_field, target_code=s.target_code,
                           grant_id=s.grant_id, status=s.status, created_at=s.created_at, last_version=s.last_version)


def subscribe(session: Session, principal: Principal, data: SubscribeIn) -> SubscriptionOut:
    """A district department subscribes to a city resource, filtered to its district (属地回流).

    Each new version is materialised as the next version of a derived catalogue resource owned by
    the district department (same 信息项, masked as the department's access allows), and it is notified."""
    from citybase.catalog.schemas import FieldIn, ResourceIn

    authorize(principal, "exchange.request")
    org_code = _require_org(principal)
    org = identity.get_org(session, org_code)
    district = org.division_code or ""
    if not (len(district) == 6 and not district.endswith("00")):
        raise BadInput("只有区（县）级部门可以订阅属地回流数据", code="not_district_org",
                       detail={"division_code": district})
    res = _catalog().find_resource(session, data.resource_code)
    if res is None or res.status != "published":
        raise NotFound(f"目录中没有已发布的资源 {data.resource_code}", code="unknown_resource")
    if res.provider_code == org_code:
        raise BadInput("不能订阅本单位提供的资源", code="own_resource")
    existing = session.execute(select(Subscription).where(Subscription.resource_code == res.code,
                                                          Subscription.subscriber_code == org_code,
                                                          Subscription.status == "active")).scalar_one_or_none()
    if existing is not None:
        raise IllegalTransition("本单位已订阅该资源", code="duplicate_subscription",
                                detail={"subscription_id": existing.id})
    filter_field = _district_field(res, data.filter_field)
    access = resolve_access(session, principal, res.code)  # raises unless 无条件共享 or a grant exists
    fmap = _field_map(res)
    fields = []
    for i, n in enumerate(access.fields):
        f = fmap[n]
        masked = n in access.masked
        fields.append(FieldIn(name=f.name, label=f.label, data_type="string" if masked else f.data_type,
                              element="text" if masked or f.element == "enum" and not f.enum_values else f.element,
                              grading=f.grading, nullable=True, is_key=False,
                              enum_values=[] if masked else list(f.enum_values), position=i + 1))
    derived = _catalog().create_resource(session, SYSTEM, ResourceIn(
        name=f"{res.name}（{org.name}属地回流）"[:200],
        summary=f"由 {res.provider_name or res.provider_code} 的“{res.name}”按本区（{district}）筛选后回流的副本，"
                f"随源资源每次更新自动交付。",
        class_code=res.class_code, class_name=res.class_name, provider_code=org_code, format="数据库表",
        share_type="有条件共享", share_condition="属地回流数据，仅限本部门履行职责使用，不得再次共享",
        share_method="属地回流", open_type="不予开放", update_cycle=res.update_cycle,
        related_codes=[res.code], keywords=["属地回流", *res.keywords[:5]], fields=fields))
    _catalog().publish_direct(session, SYSTEM, derived.code)
    sub = Subscription(resource_code=res.code, subscriber_code=org_code, district_code=district,
                       filter_field=filter_field, target_code=derived.code,
                       grant_id=access.grant.id if access.grant else None, status="active", created_at=utcnow(),
                       created_by=principal.actor)
    session.add(sub)
    session.flush()
    audit.record(session, principal, "exchange.subscribe", "subscription", sub.id,
                 {"resource": res.code, "district": district, "filter_field": filter_field, "target": derived.code,
                  "grant": sub.grant_id})
    session.add(Delivery(subscription_id=sub.id, source_version=access.version.number, status="pending",
                         created_at=utcnow(), row_count=0, error=""))
    _after_commit_enqueue(session)
    return _sub_out(session, sub)


def cancel_subscription(session: Session, principal: Principal, subscription_id: int) -> SubscriptionOut:
    authorize(principal, "exchange.request")
    sub = session.get(Subscription, subscription_id)
    if sub is None or sub.subscriber_code != principal.org_code:
        raise NotFound("订阅不存在", code="unknown_subscription")
    if sub.status != "active":
        raise IllegalTransition("该订阅已取消", code="not_active")
    sub.status = "cancelled"
    audit.record(session, principal, "exchange.unsubscribe", "subscription", sub.id, {"resource": sub.resource_code})
    return _sub_out(session, sub)


def list_subscriptions(session: Session, principal: Principal) -> list[SubscriptionOut]:
    authorize(principal, "exchange.read")
    org = _require_org(principal)
    rows = session.execute(select(Subscription).where(
        (Subscription.subscriber_code == org) | (Subscription.resource_code.in_(
            [r.code for r in _catalog().list_resources(session, provider_code=org)])))
        .order_by(Subscription.id.desc())).scalars().all()
    names = _org_names(session)
    return [_sub_out(session, s, names) for s in rows]


def on_version(session: Session, version: Any) -> None:
    """lake hook (inside the ingest's transaction): record a pending delivery per active subscription."""
    subs = session.execute(select(Subscription.id).where(Subscription.resource_code == version.resource_code,
                                                         Subscription.status == "active")).scalars().all()
    for sid in subs:
        session.add(Delivery(subscription_id=sid, source_version=version.number, status="pending",
                             created_at=utcnow(), row_count=0, error=""))
    if subs:
        _after_commit_enqueue(session)


def _after_commit_enqueue(session: Session) -> None:
    from sqlalchemy import event

    @event.listens_for(session, "after_commit", once=True)
    def _enqueue(_s: Session) -> None:
        try:
            from citybase.exchange.jobs import deliver_pending

            deliver_pending()
        except Exception:  # noqa: BLE001 - the periodic job picks pending deliveries up anyway
            pass


def pending_deliveries(session: Session) -> list[int]:
    return list(session.execute(select(Delivery.id).where(Delivery.status == "pending")
                                .order_by(Delivery.id)).scalars())


def deliver(session: Session, delivery_id: int) -> Delivery:
    """Materialise one delivery: the source version filtered to the district (and the grant), masked,
    ingested as the next version of the subscriber's derived resource; the subscriber is notified."""
    d = session.get(Delivery, delivery_id)
    if d is None:
        raise NotFound("交付记录不存在", code="unknown_delivery")
    if d.status != "pending":
        return d
    sub = session.get(Subscription, d.subscription_id)
    if sub is None or sub.status != "active" or not sub.target_code:
        d.status, d.error = "skipped", "订阅已取消"
        return d
    org = identity.get_org(session, sub.subscriber_code)
    consumer = Principal(username=f"exchange:{sub.subscriber_code}", role="staff", org_code=sub.subscriber_code,
                         org_name=org.name, via="system", display_name="属地回流")
    try:
        access = resolve_access(session, consumer, sub.resource_code, sub.grant_id)
    except (PermissionDenied, NotFound) as exc:
        d.status, d.error = "failed", exc.message
        notify(session, sub.subscriber_code, "delivery_failed", f"属地回流未能交付：{sub.resource_code}", exc.message,
               "/exchange/subscriptions")
        audit.record(session, SYSTEM, "exchange.deliver_failed", "subscription", sub.id,
                     {"delivery": d.id, "reason": exc.code})
        return d
    with contextlib.suppress(NotFound):  # pruned meanwhile: deliver the current version
        access.version = _lake().get_version(session, sub.resource_code, d.source_version)
    conds = access.filters + [{"field": sub.filter_field, "op": "prefix", "value": sub.district_code}]
    where, params = _where(conds)
    src = _source(access).replace(", filename=true, file_row_number=true", "")
    sql = f"SELECT {_select_list(access, access.fields)} FROM {src} WHERE {where}"
    con = _borrow()
    try:
        table = con.sql(sql, params=params).to_arrow_table()
    finally:
        _give_back(con)
    d.row_count = table.num_rows
    if table.num_rows == 0:
        d.status, d.delivered_at, d.error = "empty", utcnow(), "本区没有数据行"
    else:
        v = _lake().ingest_table(session, SYSTEM, sub.target_code, table, mode="replace",
                                 source_label=f"属地回流：{sub.resource_code} 第 {access.version.number} 版")
        d.status, d.delivered_at, d.target_version = "done", utcnow(), v.number
    sub.last_version = access.version.number
    _record_read(session, consumer, access, channel="subscription", fields=access.fields, rows=table.num_rows,
                 filters=conds[len(access.filters):])
    notify(session, sub.subscriber_code, "delivered",
           f"属地回流已送达：{access.resource.name} 第 {access.version.number} 版",
           f"本区 {table.num_rows} 行已写入本部门资源 {sub.target_code}。", f"/lake/{sub.target_code}"
           if d.status == "done" else "/exchange/subscriptions")
    return d


# --------------------------------------------------------------------------- pages helpers

def request_form_context(session: Session, principal: Principal, code: str) -> dict[str, Any]:
    """What the request form shows: the resource, its 信息项 with grading and masking, existing grants."""
    authorize(principal, "exchange.request")
    res = _catalog().find_resource(session, code)
    if res is None or res.status != "published":
        raise NotFound(f"目录中没有已发布的资源 {code}", code="unknown_resource")
    return {"resource": res, "mask": {f.name: mask_kind(f) for f in res.fields}}
