"""Build the five base libraries by merging mapped department resources.

For every key (normalised: ID numbers upper-case X and 15 → 18 digits, credit codes upper-case),
each attribute takes the value of the highest-priority source that has a present and valid value;
equal priorities go to the fresher version. The merge is one DuckDB query over the sources'
current Parquet versions; the result is published as a new version of the library's own
catalogue resource (so quality, sharing and open data apply to it) and a provenance file records
which source won each attribute of each record.

A new version of any source marks the libraries that use it stale (a lake hook); the worker
rebuilds only those (``rebuild_stale``).
"""

from __future__ import annotations

import json
import re
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citybase.baselib.libraries import LIBRARIES, Library, library
from citybase.baselib.models import BaselibBuild, BaselibSource, BaselibState
from citybase.baselib.schemas import BuildOut, LibraryStatus, SourceIn, SourceOut
from citybase.catalog import service as catalog
from citybase.catalog.schemas import FieldIn, ResourceIn
from citybase.config import get_settings
from citybase.core.audit import service as audit
from citybase.core.errors import BadInput, PermissionDenied
from citybase.core.identity import service as identity
from citybase.core.identity.principal import SYSTEM, Principal, authorize
from citybase.core.time import utcnow
from citybase.lake import service as lake
from citybase.standards.masking import mask_value
from citybase.standards.sql import quote_ident, validator_sql

KEEP_PROVENANCE = 3
_EPOCH_SCALE = 10**13  # priority dominates; within a priority the newer version (epoch ms) wins


# ---------------------------------------------------------------- permissions

def _check_manager(session: Session, principal: Principal) -> None:
    authorize(principal, "baselib.manage")
    if principal.is_system:
        return
    if not identity.in_bureau(session, principal):
        raise PermissionDenied("只有大数据管理局的数据管理员可以配置和重建基础库", code="not_bureau_officer")


# ---------------------------------------------------------------- the library's own resource

def _state(session: Session, key: str) -> BaselibState:
    state = session.get(BaselibState, key)
    if state is None:
        state = BaselibState(library=key, stale=True, stale_reason="尚未构建", stale_since=utcnow(), last_build=0)
        session.add(state)
        session.flush()
    return state


def ensure_library(session: Session, principal: Principal, key: str) -> BaselibState:
    """Register the library as a 基础 catalogue resource of the big-data bureau (once)."""
    lib = library(key)
    _check_manager(session, principal)
    state = _state(session, key)
    if state.resource_code and catalog.find_resource(session, state.resource_code) is not None:
        return state
    fields = [FieldIn(name=a.name, label=a.label, data_type=a.data_type, element=a.element, grading=a.grading,
                      nullable=a is not lib.key_attr, is_key=a is lib.key_attr, enum_values=[], position=i)
              for i, a in enumerate(lib.all_attrs)]
    res = catalog.create_resource(session, SYSTEM, ResourceIn(
        name=lib.name, summary=lib.summary, class_code=lib.class_code, class_name=lib.name,
        provider_code=identity.bureau_code(session), format="数据库表", share_type="有条件共享",
        share_condition="政务部门依职责按需申请，个人敏感字段脱敏", share_method="接口调用；库表交换",
        open_type="不予开放", update_cycle="每日", keywords=["基础库", lib.name], fields=fields))
    catalog.publish_direct(session, SYSTEM, res.code)
    state.resource_code = res.code
    audit.record(session, principal, "baselib.register", "baselib", key, {"resource": res.code})
    return state


# ---------------------------------------------------------------- source mappings

def _source_out(session: Session, row: BaselibSource) -> SourceOut:
    res = catalog.find_resource(session, row.resource_code)
    return SourceOut(id=row.id, library=row.library, resource_code=row.resource_code, key_field=row.key_field,
                     attr_map=dict(row.attr_map), priority=row.priority, active=row.active,
                     resource_name=res.name if res else "（资源不存在）")


def list_sources(session: Session, key: str) -> list[SourceOut]:
    library(key)
    rows = session.execute(select(BaselibSource).where(BaselibSource.library == key)
                           .order_by(BaselibSource.priority.desc(), BaselibSource.resource_code)).scalars()
    return [_source_out(session, r) for r in rows]


def set_source(session: Session, principal: Principal, key: str, data: SourceIn) -> SourceOut:
    """Add or change how a department resource feeds a library (attribute map and priority)."""
    lib = library(key)
    _check_manager(session, principal)
    res = catalog.get_resource(session, data.resource_code)
    columns = {f.name for f in res.fields}
    if data.key_field not in columns:
        raise BadInput(f"资源 {res.name} 没有信息项“{data.key_field}”", code="unknown_field",
                       detail={"field": data.key_field, "fields": sorted(columns)})
    attrs = {a.name for a in lib.attrs}
    for attr, col in data.attr_map.items():
        if attr not in attrs:
            raise BadInput(f"{lib.name} 没有属性“{attr}”", code="unknown_attribute", detail={"allowed": sorted(attrs)})
        if not col.startswith("=") and col not in columns:
            raise BadInput(f"资源 {res.name} 没有信息项“{col}”", code="unknown_field", detail={"field": col})
    row = session.execute(select(BaselibSource).where(BaselibSource.library == key,
                                                      BaselibSource.resource_code == data.resource_code)
                          ).scalar_one_or_none()
    if row is None:
        row = BaselibSource(library=key, resource_code=data.resource_code, active=True)
        session.add(row)
    row.key_field, row.attr_map, row.priority = data.key_field, dict(data.attr_map), data.priority
    row.updated_at = utcnow()
    session.flush()
    _mark_stale(session, key, f"数据源配置变更：{res.name}")
    audit.record(session, principal, "baselib.set_source", "baselib", key,
                 {"resource": data.resource_code, "priority": data.priority, "attrs": sorted(data.attr_map)})
    return _source_out(session, row)


def remove_source(session: Session, principal: Principal, key: str, resource_code: str) -> None:
    library(key)
    _check_manager(session, principal)
    row = session.execute(select(BaselibSource).where(BaselibSource.library == key,
                                                      BaselibSource.resource_code == resource_code)
                          ).scalar_one_or_none()
    if row is not None:
        session.delete(row)
        _mark_stale(session, key, f"移除数据源 {resource_code}")
        audit.record(session, principal, "baselib.remove_source", "baselib", key, {"resource": resource_code})


def load_default_sources(session: Session, principal: Principal, path: Path | None = None) -> int:
    """Apply a JSON file of default mappings (the demo's); sources whose resource is missing are skipped."""
    path = path or Path(__file__).with_name("data") / "default_sources.json"
    spec = json.loads(path.read_text(encoding="utf-8"))
    n = 0
    for key, sources in spec.items():
        if key.startswith("_"):
            continue
        ensure_library(session, principal, key)
        for s in sources:
            if catalog.find_resource(session, s["resource"]) is None:
                continue
            set_source(session, principal, key, SourceIn(resource_code=s["resource"], key_field=s["key"],
                                                         attr_map=s["map"], priority=s["priority"]))
            n += 1
    return n


# ---------------------------------------------------------------- staleness

def _mark_stale(session: Session, key: str, reason: str) -> None:
    state = _state(session, key)
    if not state.stale:
        state.stale, state.stale_since = True, utcnow()
    state.stale_reason = reason[:200]


def mark_sources_stale(session: Session, version: Any) -> None:
    """A new lake version of a source makes the libraries that read it stale (the lake's hook)."""
    keys = session.execute(select(BaselibSource.library).where(
        BaselibSource.resource_code == version.resource_code, BaselibSource.active.is_(True))).scalars().all()
    for key in set(keys):
        _mark_stale(session, key, f"数据源 {version.resource_code} 有新版本 v{version.number}")



def stale_libraries(session: Session) -> list[str]:
    return list(session.execute(select(BaselibState.library).where(BaselibState.stale.is_(True))
                                .order_by(BaselibState.library)).scalars())


def rebuild_stale(session: Session, principal: Principal = SYSTEM) -> list[BuildOut]:
    """Rebuild only the libraries whose sources changed since their last build."""
    built = []
    for key in stale_libraries(session):
        if not session.execute(select(func.count()).select_from(BaselibSource)
                               .where(BaselibSource.library == key)).scalar_one():
            continue
        try:
            with session.begin_nested():
                built.append(build(session, principal, key, reason=_state(session, key).stale_reason or "数据源变更"))
        except BadInput as exc:
            if exc.code != "no_source_data":
                raise
            _state(session, key).stale_reason = "数据源尚无数据，待归集后构建"
    return built


# ---------------------------------------------------------------- the merge

def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _key_expr(lib: Library, col: str) -> str:
    if lib.key_kind == "cn_id_card":
        return f"cb_id_normalize(CAST({col} AS VARCHAR))"
    if lib.key_kind == "uscc":
        return f"(CASE WHEN cb_uscc_valid(upper(trim(CAST({col} AS VARCHAR)))) THEN upper(trim(CAST({col} AS VARCHAR))) END)"
    return f"nullif(trim(CAST({col} AS VARCHAR)), '')"


def _valid(attr: Any, col: str) -> str:
    if attr.element in ("text", "enum"):
        return f"nullif(trim({col}), '') IS NOT NULL"
    return f"(nullif(trim({col}), '') IS NOT NULL AND coalesce({validator_sql(attr.element, col)}, false))"


def _provenance_dir(key: str) -> Path:
    d = lake.lake_dir() / "baselib" / key
    d.mkdir(parents=True, exist_ok=True)
    return d


def build(session: Session, principal: Principal, key: str, reason: str = "手动重建") -> BuildOut:
    lib = library(key)
    _check_manager(session, principal)
    started = time.monotonic()
    state = ensure_library(session, principal, key)
    sources = session.execute(select(BaselibSource).where(BaselibSource.library == key,
                                                          BaselibSource.active.is_(True))
                              .order_by(BaselibSource.priority.desc())).scalars().all()
    if not sources:
        raise BadInput(f"{lib.name} 还没有配置任何数据源", code="no_sources")
    parts, used = [], []
    for i, src in enumerate(sources):
        version = lake.current_version(session, src.resource_code)
        if version is None:
            used.append({"resource": src.resource_code, "version": None, "rows": 0, "priority": src.priority,
                         "note": "尚无数据"})
            continue
        amap = dict(src.attr_map)
        cols = [f"{_key_expr(lib, quote_ident(src.key_field))} AS _k"]
        for a in lib.attrs:
            target = amap.get(a.name)
            if target is None:
                cols.append(f"CAST(NULL AS VARCHAR) AS {quote_ident(a.name)}")
            elif target.startswith("="):
                cols.append(f"{_lit(target[1:])} AS {quote_ident(a.name)}")
            else:
                cols.append(f"CAST({quote_ident(target)} AS VARCHAR) AS {quote_ident(a.name)}")
        rank = src.priority * _EPOCH_SCALE + int(version.created_at.timestamp() * 1000)
        parts.append(f"SELECT {', '.join(cols)}, CAST({rank} AS HUGEINT) AS _rank, {i} AS _src "
                     f"FROM read_parquet({_lit(lake.parquet_glob(version))})")
        used.append({"resource": src.resource_code, "version": version.number, "rows": version.row_count,
                     "priority": src.priority})
    if not parts:
        raise BadInput(f"{lib.name} 的数据源都还没有数据", code="no_source_data")

    number = (state.last_build or 0) + 1
    out_dir = _provenance_dir(key)
    prov_file = out_dir / f"build-{number:06d}.parquet"
    con = lake.connect()
    try:
        con.execute(f"CREATE TEMP VIEW src AS {' UNION ALL '.join(parts)}")
        rejected = con.execute("SELECT count(*) FROM src WHERE _k IS NULL").fetchone()[0]
        aggs = ["_k"]
        for a in lib.attrs:
            ok = _valid(a, quote_ident(a.name))
            aggs.append(f"arg_max({quote_ident(a.name)}, _rank) FILTER (WHERE {ok}) AS {quote_ident(a.name)}")
            aggs.append(f"arg_max(_src, _rank) FILTER (WHERE {ok}) AS {quote_ident('_src_' + a.name)}")
            aggs.append(f"count(DISTINCT trim({quote_ident(a.name)})) FILTER (WHERE {ok}) > 1 AS {quote_ident('_conf_' + a.name)}")
        con.execute(f"CREATE TEMP TABLE merged AS SELECT {', '.join(aggs)} FROM src WHERE _k IS NOT NULL GROUP BY _k")
        con.execute(f"COPY merged TO {_lit(str(prov_file))} (FORMAT parquet, COMPRESSION zstd)")
        total = con.execute("SELECT count(*) FROM merged").fetchone()[0]
        winners: dict[str, dict[str, int]] = {}
        coverage: dict[str, dict[str, Any]] = {}
        conflicts: dict[str, int] = {}
        for a in lib.attrs:
            rows = con.execute(f"SELECT {quote_ident('_src_' + a.name)}, count(*) FROM merged "
                               f"WHERE {quote_ident('_src_' + a.name)} IS NOT NULL GROUP BY 1").fetchall()
            winners[a.name] = {sources[int(i)].resource_code: n for i, n in rows}
            present = sum(n for _, n in rows)
            coverage[a.name] = {"label": a.label, "present": present,
                                "share": round(present / total, 4) if total else 0.0}
            conflicts[a.name] = con.execute(f"SELECT count(*) FROM merged WHERE {quote_ident('_conf_' + a.name)}").fetchone()[0]
        select_cols = [f"_k AS {quote_ident(lib.key_attr.name)}"] + [quote_ident(a.name) for a in lib.attrs]
        with warnings.catch_warnings():  # DuckDB notes the extra copy; the table is small next to the merge
            warnings.simplefilter("ignore", UserWarning)
            table = con.execute(f"SELECT {', '.join(select_cols)} FROM merged ORDER BY _k").to_arrow_table()
    finally:
        con.close()

    lake_version = None
    if table.num_rows:
        v = lake.ingest_table(session, principal, state.resource_code, table, mode="replace",
                              source_label=f"{lib.name} 第 {number} 次构建")
        lake_version = v.number
    row = BaselibBuild(library=key, number=number, built_at=utcnow(), built_by=principal.actor, reason=reason[:200],
                       row_count=total, rejected_keys=rejected, lake_version=lake_version,
                       sources=used, winners=winners, coverage=coverage, conflicts=conflicts,
                       duration_ms=int((time.monotonic() - started) * 1000))
    session.add(row)
    state.last_build, state.stale, state.stale_reason, state.stale_since = number, False, "", None
    session.flush()
    _prune_provenance(out_dir, number)
    audit.record(session, principal, "baselib.build", "baselib", key,
                 {"build": number, "rows": total, "rejected_keys": rejected, "lake_version": lake_version,
                  "reason": reason[:200]})
    return _build_out(row)


def _prune_provenance(out_dir: Path, newest: int) -> None:
    for f in sorted(out_dir.glob("build-*.parquet")):
        try:
            n = int(f.stem.split("-")[1])
        except (IndexError, ValueError):
            continue
        if n <= newest - KEEP_PROVENANCE:
            f.unlink(missing_ok=True)


def _build_out(row: BaselibBuild) -> BuildOut:
    return BuildOut(library=row.library, number=row.number, built_at=row.built_at, built_by=row.built_by,
                    reason=row.reason, row_count=row.row_count, rejected_keys=row.rejected_keys,
                    lake_version=row.lake_version, sources=list(row.sources), winners=dict(row.winners),
                    coverage=dict(row.coverage), conflicts=dict(row.conflicts),
                    duration_ms=row.duration_ms)


# ---------------------------------------------------------------- reading

def last_build(session: Session, key: str) -> BuildOut | None:
    row = session.execute(select(BaselibBuild).where(BaselibBuild.library == key)
                          .order_by(BaselibBuild.number.desc()).limit(1)).scalar_one_or_none()
    return _build_out(row) if row else None


def builds(session: Session, key: str, limit: int = 20) -> list[BuildOut]:
    rows = session.execute(select(BaselibBuild).where(BaselibBuild.library == key)
                           .order_by(BaselibBuild.number.desc()).limit(limit)).scalars()
    return [_build_out(r) for r in rows]


def status(session: Session, principal: Principal) -> list[LibraryStatus]:
    authorize(principal, "baselib.read")
    out = []
    for key, lib in LIBRARIES.items():
        state = session.get(BaselibState, key)
        n_sources = session.execute(select(func.count()).select_from(BaselibSource)
                                    .where(BaselibSource.library == key)).scalar_one()
        out.append(LibraryStatus(key=key, name=lib.name, summary=lib.summary,
                                 resource_code=state.resource_code if state else None,
                                 stale=state.stale if state else True,
                                 stale_reason=state.stale_reason if state else "尚未构建",
                                 sources=n_sources, last_build=last_build(session, key),
                                 key_attributes=list(lib.coverage)))
    return out


# ---------------------------------------------------------------- who reads records, and lookups

LOOKUP_PER_MINUTE = 20  # lookups by identifier per person and minute
MISS_BURST = 5  # lookups per minute that find nothing (or are refused) before a security alert


def source_departments(session: Session, key: str) -> set[str]:
    """The departments whose resources feed the library (its active sources' providers)."""
    codes = session.execute(select(BaselibSource.resource_code).where(
        BaselibSource.library == key, BaselibSource.active.is_(True))).scalars().all()
    return {r.provider_code for r in catalog.get_many(session, list(codes))}


def can_see_records(session: Session, principal: Principal, key: str) -> bool:
    """Records are for the big-data bureau's and the source departments' data officers; every other
    role sees the library's figures only (status, coverage, builds)."""
    if principal.is_system:
        return True
    if not principal.can("baselib.records"):
        return False
    return identity.in_bureau(session, principal) or principal.org_code in source_departments(session, key)


def _ledger(principal: Principal, action: str, key: str, detail: dict[str, Any]) -> None:
    """An entry committed on its own: a refused lookup is recorded even though its request fails."""
    from citybase.db import session_scope

    with session_scope() as s:
        audit.record(s, principal, action, "baselib", key, detail)


def _miss(principal: Principal, key: str, masked_key: str, reason: str) -> None:
    """Count a lookup that found nothing or was refused; a burst of them is a security alert."""
    from citybase.core import ratelimit

    if ratelimit.hit(f"baselib.miss:{principal.username}", MISS_BURST).allowed:
        return
    if ratelimit.hit(f"baselib.alerted:{principal.username}", 1).allowed:  # one alert per person and minute
        _ledger(principal, "security.alert", key, {
            "kind": "lookup_misses", "message": f"1 分钟内按标识查询基础库未命中或被拒超过 {MISS_BURST} 次，疑似枚举推测",
            "last_key": masked_key, "last_reason": reason})


def _guard_lookup(session: Session, principal: Principal, lib: Library, masked_key: str, purpose: str) -> str:
    """Check one lookup by the library's key (``masked_key``: as the ledger shows it); returns the purpose
    it is recorded under."""
    from citybase.core import ratelimit
    from citybase.hooks import relay

    ratelimit.hit(f"baselib.lookup:{principal.username}", LOOKUP_PER_MINUTE).raise_if_exceeded(
        f"按标识查询过于频繁：每人每分钟最多 {LOOKUP_PER_MINUTE} 次")
    if not can_see_records(session, principal, lib.key):
        _miss(principal, lib.key, masked_key, "records_restricted")
        _ledger(principal, "baselib.lookup", lib.key, {"key": masked_key, "result": "refused",
                                                        "reason": "records_restricted"})
        raise PermissionDenied("基础库明细仅向大数据管理局和数据来源部门的数据管理员开放", code="records_restricted")
    personal = lib.key_attr.mask_kind is not None
    if not personal or principal.is_system:
        return purpose
    purpose = (purpose or "").strip()
    if len(purpose) < 4:
        raise BadInput(f"按{lib.key_attr.label}查询个人信息须写明查询事由（至少 4 个字，如：低保复核 案卷号 …），"
                       "查询将记入审计", code="purpose_required")
    if identity.in_bureau(session, principal):
        return purpose
    state = session.get(BaselibState, lib.key)
    granted = relay().clear_field_grant(session=session, principal=principal,
                                        resource_code=state.resource_code if state else "", field=lib.key_attr.name)
    if granted is None:
        _miss(principal, lib.key, masked_key, "clear_grant_required")
        _ledger(principal, "baselib.lookup", lib.key, {"key": masked_key, "purpose": purpose, "result": "refused",
                                                        "reason": "clear_grant_required"})
        raise PermissionDenied(f"按{lib.key_attr.label}查询须有明文使用该字段的共享授权：请通过共享交换申请"
                               f"“{lib.name}”并在申请中说明明文使用{lib.key_attr.label}的事由",
                               code="clear_grant_required")
    return f"{purpose}（授权用途：{granted}）"


def sample(session: Session, principal: Principal, key: str, limit: int = 20,
           record_key: str | None = None, purpose: str = "") -> tuple[list[dict[str, str]], list[list[Any]]]:
    """Masked records with, per attribute, the source that won it; ``record_key`` looks one up (see
    :func:`_guard_lookup`: a personal key needs a stated purpose and, outside the bureau, a grant)."""
    authorize(principal, "baselib.read")
    lib = library(key)
    record_key = (record_key or "").strip() or None
    masked_key = (mask_value(lib.key_attr.mask_kind or "generic", record_key) or "") if record_key else ""
    if record_key:
        purpose = _guard_lookup(session, principal, lib, masked_key, purpose)
    elif not can_see_records(session, principal, key):
        raise PermissionDenied("基础库明细仅向大数据管理局和数据来源部门的数据管理员开放；您可以查看汇总信息",
                               code="records_restricted")
    b = last_build(session, key)
    if b is None:
        return [], []
    path = _provenance_dir(key) / f"build-{b.number:06d}.parquet"
    if not path.exists():
        return [], []
    names = {i: s["resource"] for i, s in enumerate(b.sources)}  # the build's own source order
    con = lake.connect()
    try:
        where, params = "", []
        if record_key:
            where, params = "WHERE _k = ?", [record_key.upper()]
        cols = ["_k"] + [c for a in lib.attrs for c in (quote_ident(a.name), quote_ident("_src_" + a.name))]
        rows = con.execute(f"SELECT {', '.join(cols)} FROM read_parquet({_lit(str(path))}) {where} "
                           f"ORDER BY _k LIMIT {int(min(max(limit, 1), 200))}", params).fetchall()
    finally:
        con.close()
    if record_key:
        _ledger(principal, "baselib.lookup", key, {"key": masked_key, "purpose": purpose,
                                                   "result": "found" if rows else "not_found"})
        if not rows:
            _miss(principal, key, masked_key, "not_found")
    header = [{"name": lib.key_attr.name, "label": lib.key_attr.label}] + [
        {"name": a.name, "label": a.label} for a in lib.attrs]
    out = []
    for r in rows:
        rec = [{"value": mask_value(lib.key_attr.mask_kind or "generic", r[0]), "source": ""}]
        for j, a in enumerate(lib.attrs):
            v, s = r[1 + 2 * j], r[2 + 2 * j]
            shown = mask_value(a.mask_kind, v) if (a.mask_kind and v is not None) else v
            rec.append({"value": shown, "source": names.get(s, "") if s is not None else ""})
        out.append(rec)
    return header, out


def remove_provenance(key: str) -> None:
    shutil.rmtree(_provenance_dir(key), ignore_errors=True)


# --------------------------------------------------------------------------- address matching

# The part of a standard address after its 街道/镇/乡 (the road and house number, or a place name):
# what people actually say on the phone, with or without the city, district and street before it.
_ADDRESS_CORE = r"^.*(?:街道|镇|乡|开发区|园区)(.+)$"
_ADDRESS_PREFIX = r"区([^区]*?(?:街道|镇|乡|开发区|园区))"  # the 街道/镇 before the core
_ROAD_NUMBER = r"(.{2,20}?(?:大道|路|街|巷|弄|道))(\d{1,5})号"


def _geo_build(session: Session) -> Path | None:
    b = last_build(session, "geo")
    if b is None:
        return None
    path = _provenance_dir("geo") / f"build-{b.number:06d}.parquet"
    return path if path.exists() else None


def geocode(session: Session, text: str) -> dict[str, Any] | None:
    """The standard address (自然资源和空间地理基础库) named in free ``text``, with its coordinates:
    the longest address core — road and number after the street/town — contained in the text,
    within the district the text names if it names one. When no number matches, the same road in
    the street (or district) the text names gives its nearest house number, marked
    ``precision: "road"``. None when the library has no build or nothing matches. Reads the latest
    build, so new standard addresses count after a rebuild."""
    import unicodedata

    from citybase.reference import divisions

    probe = "".join(unicodedata.normalize("NFKC", text or "").split())
    if len(probe) < 4:
        return None
    path = _geo_build(session)
    if path is None:
        return None
    district = next((d.name for d in divisions.city_profile(get_settings().city_code).districts
                     if d.name in probe), "")
    con = lake.macro_connection()  # kept open per thread: an operator types one address after another
    source = (f"(SELECT bzdz, TRY_CAST(jd AS DOUBLE) AS jd, TRY_CAST(wd AS DOUBLE) AS wd, "
              f"CAST(jdbm AS VARCHAR) AS jdbm, regexp_extract(replace(bzdz, ' ', ''), '{_ADDRESS_CORE}', 1) AS core, "
              f"regexp_extract(replace(bzdz, ' ', ''), '{_ADDRESS_PREFIX}', 1) AS prefix "
              f"FROM read_parquet({_lit(str(path))}))")
    row = con.execute(
        f"SELECT bzdz, jd, wd, jdbm FROM {source} "
        "WHERE length(core) >= 4 AND jd IS NOT NULL AND wd IS NOT NULL AND contains(?, core) "
        "AND contains(bzdz, ?) ORDER BY length(core) DESC, bzdz LIMIT 1",
        [probe, district]).fetchone()
    if row is not None:
        return {"address": row[0], "lon": float(row[1]), "lat": float(row[2]), "street_code": row[3],
                "precision": "address"}
    m = re.search(_ROAD_NUMBER, probe)
    if m is None:
        return None
    road, number = m[1], int(m[2])
    road = re.sub(r"^.*(?:街道|镇|乡|区)", "", road)  # the road alone, without the place before it
    if len(road) < 2:
        return None
    row = con.execute(
        f"SELECT bzdz, jd, wd, jdbm FROM {source} "
        "WHERE jd IS NOT NULL AND wd IS NOT NULL AND starts_with(core, ?) AND contains(?, prefix) "
        "AND length(prefix) > 0 AND contains(bzdz, ?) "
        "ORDER BY abs(TRY_CAST(regexp_extract(core, '(\\d+)号', 1) AS INTEGER) - ?), bzdz LIMIT 1",
        [road, probe, district, number]).fetchone()
    if row is None:
        return None
    return {"address": row[0], "lon": float(row[1]), "lat": float(row[2]), "street_code": row[3],
            "precision": "road"}


def address_suggestions(session: Session, text: str, limit: int = 8) -> list[str]:
    """Standard addresses that contain every part of what was typed (区 / 街道 / road and number),
    for the intake form's autocomplete. Empty when the library has no build."""
    import unicodedata

    probe = "".join(unicodedata.normalize("NFKC", text or "").split())
    parts = [p for p in re.split(r"(?<=[区道镇乡])", probe) if p]
    if len(probe) < 2 or not parts:
        return []
    path = _geo_build(session)
    if path is None:
        return []
    where = " AND ".join(["contains(a, ?)"] * len(parts))
    rows = lake.macro_connection().execute(
        f"SELECT bzdz FROM (SELECT bzdz, replace(bzdz, ' ', '') AS a FROM read_parquet({_lit(str(path))})) "
        f"WHERE {where} ORDER BY length(bzdz), bzdz LIMIT ?", [*parts, max(1, min(limit, 20))]).fetchall()
    return [r[0] for r in rows]
