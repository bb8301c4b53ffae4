"""The public datastore: one DuckDB file per dataset version, holding only public-safe columns.

Built from the lake's current version (lazily on first use, under a per-dataset lock, or ahead of
time by ``build_store``): L3/L4 fields are not copied at all, L2 fields are stored masked, and every
column gets an ART index, so an equality filter on any column is an index lookup and the exact total
is an index count, not a scan of millions of rows. The file name carries the version number; a new
lake version makes the next query build a new file and drop the old one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import os
import re
import shutil
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy.orm import Session

from citybase.catalog.schemas import FieldOut, ResourceOut
from citybase.config import get_settings
from citybase.core.errors import BadInput, NotFound
from citybase.lake import duck
from citybase.lake import service as lake
from citybase.standards.masking import field_mask_kind
from citybase.standards.sql import quote_ident

MAX_LIMIT = 32000
DEFAULT_LIMIT = 100
MAX_OFFSET = 100_000_000
CKAN_TYPES = {"string": "text", "integer": "int", "decimal": "numeric", "date": "date",
              "datetime": "timestamp", "boolean": "bool"}
DUCK_TYPES = {"string": "VARCHAR", "integer": "BIGINT", "decimal": "DOUBLE", "date": "DATE",
              "datetime": "TIMESTAMP", "boolean": "BOOLEAN"}
SORT_RE = re.compile(r"^\s*\"?([A-Za-z_][A-Za-z0-9_]*)\"?\s*(asc|desc)?\s*$", re.I)


@dataclass
class Column:
    name: str
    label: str
    data_type: str  # catalogue data type
    masked: bool

    @property
    def ckan_type(self) -> str:
        return "text" if self.masked else CKAN_TYPES.get(self.data_type, "text")


@dataclass
class Store:
    code: str
    version: int
    path: Path
    columns: list[Column]
    rows: int
    con: duckdb.DuckDBPyConnection
    counted: dict[str, str] = field(default_factory=dict)  # column → its value-count table


    def column(self, name: str) -> Column | None:
        for c in self.columns:
            if c.name == name:
                return c
        return None


_stores: dict[str, Store] = {}
_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def store_dir() -> Path:
    d = get_settings().home_dir / "opendata" / "datastore"
    d.mkdir(parents=True, exist_ok=True)
    return d


def public_columns(res: ResourceOut, present: list[str]) -> list[Column]:
    from citybase.opendata.service.public import public_fields

    cols = []
    for f in public_fields(res):
        if f.name in present:
            cols.append(Column(f.name, f.label, f.data_type, masked=field_mask_kind(f, public=True) is not None))
    return cols


def _mask_expr(f: FieldOut) -> str:
    kind = field_mask_kind(f, public=True) or "generic"
    return f"cb_mask_value('{kind}', {quote_ident(f.name)})"


def _lock_for(key: str) -> threading.Lock:
    with _guard:
        return _locks.setdefault(key, threading.Lock())


def build_store(session: Session, res: ResourceOut, *, indexes: bool = True) -> Store | None:
    """The store for the dataset's current lake version (built if missing). None without data."""
    version = lake.current_version(session, res.code)
    if version is None:
        return None
    key = f"{get_settings().home_dir}|{res.code}"
    cached = _stores.get(key)
    if cached is not None and cached.version == version.number and cached.path.exists():
        return cached
    with _lock_for(key):
        cached = _stores.get(key)
        if cached is not None and cached.version == version.number and cached.path.exists():
            return cached
        folder = store_dir() / re.sub(r"[^0-9A-Za-z_.\-]", "_", res.code)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"v{version.number}.duckdb"
        cols = public_columns(res, list(version.columns))
        if not path.exists():
            _build(res, lake.parquet_glob(version), cols, path, indexes=indexes)
        store = open_store(res.code, version.number, path, cols)
        old = _stores.get(key)
        _stores[key] = store
        if old is not None:
            with contextlib.suppress(duckdb.Error):
                old.con.close()
        for stale in folder.glob("v*.duckdb"):
            if stale != path:
                stale.unlink(missing_ok=True)
        return store


def open_store(code: str, version: int, path: Path, cols: list[Column]) -> Store:
    con = duck.connect(macros=False, database=str(path), read_only=True)
    rows = int(con.execute("SELECT count(*) FROM t").fetchone()[0])
    counted = {}
    if con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'meta'").fetchone()[0]:
        counted = {c: t for c, t in con.execute("SELECT col, count_table FROM meta WHERE count_table <> ''").fetchall()}
    return Store(code, version, path, cols, rows, con, counted)


COUNT_TABLE_MAX_NDV = 2_000_000  # columns with fewer distinct values get a value → count table
INDEX_MIN_NDV = 500
INDEX_SCAN_MAX = 500  # columns with more distinct values get an ART index (rare values: index lookups)


def _build(res: ResourceOut, glob: str, cols: list[Column], path: Path, *, indexes: bool) -> None:
    """Rows in ``_id`` order (DuckDB keeps insertion order, so the default order needs no sort and a
    LIMIT stops early), a sorted value → count table per column of moderate cardinality (exact totals
    of single-value filters without counting rows) and an ART index per selective column."""
    fields = {f.name: f for f in res.fields}
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex}.tmp")
    con = lake.connect()
    try:
        con.execute(f"ATTACH '{tmp}' AS ds")
        exprs = ["row_number() OVER () AS _id"]
        for c in cols:
            expr = _mask_expr(fields[c.name]) if c.masked else quote_ident(c.name)
            exprs.append(f"{expr} AS {quote_ident(c.name)}")
        glob_lit = "'" + glob.replace("'", "''") + "'"
        con.execute(f"CREATE TABLE ds.t AS SELECT * FROM (SELECT {', '.join(exprs)} FROM read_parquet({glob_lit})) "
                    "ORDER BY _id")
        con.execute("CREATE TABLE ds.meta (col VARCHAR, ndv BIGINT, count_table VARCHAR, indexed BOOLEAN)")
        if indexes:
            con.execute("CREATE UNIQUE INDEX t__id ON ds.t(_id)")
            ndvs = con.execute("SELECT " + ", ".join(f"approx_count_distinct({quote_ident(c.name)})" for c in cols)
                               + " FROM ds.t").fetchone() if cols else ()
            for i, (c, ndv) in enumerate(zip(cols, ndvs, strict=True)):
                table = ""
                if ndv <= COUNT_TABLE_MAX_NDV:
                    table = f"c_{i}"
                    con.execute(f"CREATE TABLE ds.{table} AS SELECT {quote_ident(c.name)} AS v, count(*) AS n FROM ds.t "
                                f"GROUP BY 1 ORDER BY 1")
                indexed = ndv >= INDEX_MIN_NDV
                if indexed:
                    con.execute(f"CREATE INDEX t_c{i} ON ds.t({quote_ident(c.name)})")
                con.execute("INSERT INTO ds.meta VALUES (?, ?, ?, ?)", [c.name, int(ndv), table, indexed])
        con.execute("DETACH ds")
    finally:
        con.close()
    os.replace(tmp, path)
    wal = Path(str(tmp) + ".wal")
    if wal.exists():
        wal.unlink()


def drop_stores() -> None:
    """Close and forget every open store (tests, and before deleting a home)."""
    with _guard:
        for s in _stores.values():
            with contextlib.suppress(duckdb.Error):
                s.con.close()
        _stores.clear()


def remove_files(code: str) -> None:
    shutil.rmtree(store_dir() / code, ignore_errors=True)


# --------------------------------------------------------------------------- query

def _convert(col: Column, value: Any) -> Any:
    """A filter value as the column's type (CKAN sends strings or numbers)."""
    if value is None:
        return None
    if isinstance(value, dict | list):
        raise BadInput(f"字段 {col.name} 的筛选值格式不正确", code="bad_filter_value", detail={"field": col.name})
    text = str(value).strip()
    dtype = "string" if col.masked else col.data_type
    try:
        if dtype == "integer":
            return int(text)
        if dtype == "decimal":
            return float(text)
        if dtype == "date":
            return dt.date.fromisoformat(text[:10])
        if dtype == "datetime":
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)
        if dtype == "boolean":
            low = text.lower()
            if low in ("true", "1", "t", "是"):
                return True
            if low in ("false", "0", "f", "否"):
                return False
            raise ValueError(text)
    except ValueError:
        raise BadInput(f"字段 {col.name} 的筛选值“{text[:50]}”不是有效的{CKAN_TYPES.get(dtype, dtype)}类型",
                       code="bad_filter_value", detail={"field": col.name}) from None
    return str(value)


def _literal(v: Any) -> str:
    """A typed value as a SQL literal. Constants (not parameters) let DuckDB use the ART index;
    values come from ``_convert`` so only these types reach here."""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(int(v))
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            raise BadInput("筛选值不是有限数值", code="bad_filter_value")
        return repr(float(v))
    if isinstance(v, dt.datetime):
        return f"TIMESTAMP '{v.isoformat(sep=' ')}'"
    if isinstance(v, dt.date):
        return f"DATE '{v.isoformat()}'"
    text = str(v)
    if "\x00" in text:
        raise BadInput("筛选值含有非法字符", code="bad_filter_value")
    return "'" + text.replace("'", "''") + "'"


def _json_value(v: Any) -> Any:
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return float(v)
    return v


def parse_fields(store: Store, fields: Any) -> list[str]:
    names = ["_id"] + [c.name for c in store.columns]
    if fields in (None, "", []):
        return names
    if isinstance(fields, str):
        wanted = [f.strip() for f in fields.split(",") if f.strip()]
    elif isinstance(fields, list) and all(isinstance(f, str) for f in fields):
        wanted = [f.strip() for f in fields]
    else:
        raise BadInput("fields 应为字段名列表或以逗号分隔的字段名", code="bad_fields")
    unknown = [f for f in wanted if f not in names]
    if unknown:
        raise BadInput(f"未知字段：{'、'.join(unknown[:5])}", code="unknown_field", detail={"fields": unknown[:20]})
    return list(dict.fromkeys(wanted))


def parse_sort(store: Store, sort: Any) -> str:
    if sort in (None, ""):
        return "_id"
    if not isinstance(sort, str):
        raise BadInput("sort 应为“字段 [asc|desc], …”形式的字符串", code="bad_sort")
    names = {"_id"} | {c.name for c in store.columns}
    parts = []
    for piece in sort.split(","):
        m = SORT_RE.match(piece)
        if not m or m.group(1) not in names:
            raise BadInput(f"无法排序：“{piece.strip()[:60]}”不是“字段 [asc|desc]”或字段不存在", code="bad_sort",
                           detail={"sort": sort[:200]})
        parts.append(f"{quote_ident(m.group(1))} {(m.group(2) or 'asc').upper()}")
    if "_id" not in {p.split()[0].strip('"') for p in parts}:
        parts.append("_id")
    return ", ".join(parts)


def _int(value: Any, name: str, default: int, lo: int, hi: int) -> int:
    if value in (None, ""):
        return default
    try:
        n = int(value)
        if isinstance(value, float) and n != value:
            raise ValueError
    except (TypeError, ValueError):
        raise BadInput(f"{name} 必须是整数", code=f"bad_{name}") from None
    if not lo <= n <= hi:
        raise BadInput(f"{name} 必须在 {lo} 到 {hi} 之间", code=f"bad_{name}", detail={name: n})
    return n


def search(store: Store, *, q: Any = None, filters: Any = None, fields: Any = None, sort: Any = None,
           limit: Any = None, offset: Any = None, include_total: Any = True,
           records_format: str = "objects") -> dict[str, Any]:
    """CKAN's datastore_search over a public store. Raises BadInput for anything not understood."""
    lim = _int(limit, "limit", DEFAULT_LIMIT, 0, MAX_LIMIT)
    off = _int(offset, "offset", 0, 0, MAX_OFFSET)
    names = parse_fields(store, fields)
    order = parse_sort(store, sort)
    where, params = [], []
    single: tuple[str, str] | None = None  # (column, literal) when the only condition is one value
    if filters not in (None, "", {}):
        if not isinstance(filters, dict):
            raise BadInput("filters 应为 {字段: 值} 形式的 JSON 对象", code="bad_filters")
        for name, value in filters.items():
            col = store.column(name) if name != "_id" else Column("_id", "_id", "integer", False)
            if col is None:
                raise BadInput(f"未知字段：{str(name)[:60]}", code="unknown_field", detail={"fields": [str(name)[:60]]})
            values = value if isinstance(value, list) else [value]
            if not values or len(values) > 1000:
                raise BadInput(f"字段 {name} 的筛选值个数须在 1 到 1000 之间", code="bad_filter_value")
            conv = [_convert(col, v) for v in values]
            if len(conv) == 1:
                if conv[0] is None:
                    where.append(f"{quote_ident(col.name)} IS NULL")
                else:
                    where.append(f"{quote_ident(col.name)} = {_literal(conv[0])}")
                    if len(filters) == 1:
                        single = (col.name, _literal(conv[0]))
            else:
                vals = [_literal(v) for v in conv if v is not None]
                ors = [f"{quote_ident(col.name)} IN ({', '.join(vals)})"] if vals else []
                if any(v is None for v in conv):
                    ors.append(f"{quote_ident(col.name)} IS NULL")
                where.append("(" + " OR ".join(ors) + ")")
    if q not in (None, ""):
        items: list[tuple[list[Column], str]]
        if isinstance(q, dict):
            items = []
            for name, text in q.items():
                col = store.column(name)
                if col is None:
                    raise BadInput(f"未知字段：{str(name)[:60]}", code="unknown_field")
                items.append(([col], str(text)))
        elif isinstance(q, str):
            items = [(store.columns, q)]
        else:
            raise BadInput("q 应为字符串或 {字段: 文本} 对象", code="bad_q")
        for cols, text in items:
            text = text.strip()
            if len(text) > 200:
                raise BadInput("检索词过长（最多 200 字）", code="query_too_long")
            if not text:
                continue
            ors = [f"CAST({quote_ident(c.name)} AS VARCHAR) ILIKE ? ESCAPE '\\'" for c in cols]
            esc = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append("(" + " OR ".join(ors) + ")")
            params.extend([f"%{esc}%"] * len(ors))
    if len(where) != 1:
        single = None
    cond = (" WHERE " + " AND ".join(where)) if where else ""
    cur = store.con.cursor()
    try:
        # An ART lookup fetches every matching row; a scan in _id order stops after ``limit`` matches.
        # Beyond a few hundred matches the scan is cheaper (matches ≈ evenly spread), so the index is
        # used only for rare values — whatever their share of the table.
        cur.execute(f"SET index_scan_percentage = 0; SET index_scan_max_count = {INDEX_SCAN_MAX}")
        select_list = ", ".join(quote_ident(n) for n in names)
        order_sql = "" if order == "_id" else f" ORDER BY {order}"  # the table is stored in _id order
        rows = cur.execute(f"SELECT {select_list} FROM t{cond}{order_sql} LIMIT {lim} OFFSET {off}",
                           params).fetchall() if lim else []
        total = None
        want_total = include_total not in (False, "false", "False", "0", 0)
        if want_total:
            if not where:
                total = store.rows
            elif single is not None and single[0] in store.counted:
                got = cur.execute(f"SELECT n FROM {store.counted[single[0]]} WHERE v = {single[1]}").fetchone()
                total = int(got[0]) if got else 0
            else:
                total = int(cur.execute(f"SELECT count(*) FROM t{cond}", params).fetchone()[0])
    except duckdb.Error as exc:  # a conversion we did not foresee: still the caller's input
        raise BadInput(f"查询条件无法执行：{str(exc).splitlines()[0][:120]}", code="bad_query") from None
    finally:
        cur.close()
    types = {c.name: c.ckan_type for c in store.columns}
    types["_id"] = "int"
    out_fields = [{"id": n, "type": types[n]} for n in names]
    if records_format == "lists":
        records: list[Any] = [[_json_value(v) for v in r] for r in rows]
    else:
        records = [{n: _json_value(v) for n, v in zip(names, r, strict=True)} for r in rows]
    result = {"resource_id": store.code, "fields": out_fields, "records": records, "limit": lim,
              "offset": off, "filters": filters or {}, "records_format": records_format,
              "_links": {"start": f"/api/3/action/datastore_search?resource_id={store.code}"}}
    if total is not None:
        result["total"] = total
        result["total_was_estimated"] = False
    return result


def require_store(session: Session, res: ResourceOut) -> Store:
    store = build_store(session, res)
    if store is None:
        raise NotFound(f"数据集 {res.code} 暂无数据", code="no_data", detail={"id": res.code})
    return store
