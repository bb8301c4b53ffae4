"""Stored versions: the lake's folders, who may read a resource's data, version reads, rows, diffs and masked rows for display."""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import select
from sqlalchemy.orm import Session

from citybase.config import get_settings
from citybase.core.errors import BadInput, NotFound, PermissionDenied
from citybase.core.identity import service as identity
from citybase.core.identity.principal import Principal, authorize
from citybase.lake import duck, pipeline, readers
from citybase.lake.models import LakePointer, LakeVersion
from citybase.lake.pipeline import FieldSpec
from citybase.lake.schemas import DiffOut, VersionOut
from citybase.standards.crypto import sm3_stream
from citybase.standards.masking import field_mask_kind, mask_value

log = logging.getLogger("citybase.lake")
MODES = ("replace", "append", "upsert")
Progress = Callable[[float, str], None]


def connect() -> duckdb.DuckDBPyConnection:
    """DuckDB with the standards macros registered (read stored versions with ``parquet_glob``)."""
    return duck.connect(_tmp_root())


_LOCAL = threading.local()


def macro_connection() -> duckdb.DuckDBPyConnection:
    """A per-thread DuckDB connection with the standards macros, kept open and reused (registering
    the macros costs seconds). Callers must not close it; temp tables they create should be dropped."""
    con = getattr(_LOCAL, "con", None)
    if con is None:
        import tempfile

        spill = Path(tempfile.gettempdir()) / f"citybase-duckdb-{os.getpid()}"
        spill.mkdir(exist_ok=True)
        con = duck.connect(spill)
        _LOCAL.con = con
    return con


def lake_dir() -> Path:
    d = get_settings().lake_dir
    d.mkdir(parents=True, exist_ok=True)
    return d


def _tmp_root() -> Path:
    d = lake_dir() / ".tmp"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _safe_code(code: str) -> str:
    if not re.fullmatch(r"[0-9A-Za-z_.\-]{1,64}", code or ""):
        raise BadInput(f"资源代码不合法：{code}", code="bad_resource_code")
    return code


def _resource(session: Session, code: str) -> Any:
    from citybase.catalog import service as catalog

    return catalog.get_resource(session, code)


def _fields(res: Any) -> list[FieldSpec]:
    fields = sorted(res.fields, key=lambda f: (f.position, f.name))
    return [FieldSpec(f.name, f.label, f.data_type, f.is_key, f.nullable) for f in fields]


def check_ingest(session: Session, principal: Principal, res: Any) -> None:
    authorize(principal, "lake.ingest")
    if principal.is_system:
        return
    if principal.org_code != res.provider_code:
        raise PermissionDenied(f"只有提供部门（{res.provider_name or res.provider_code}）可以归集该资源的数据",
                               code="not_provider", detail={"provider_code": res.provider_code})


def can_read(session: Session, principal: Principal, res: Any) -> bool:
    if not principal.can("lake.read"):
        return False
    return identity.provider_or_bureau(session, principal, res.provider_code)


def check_read(session: Session, principal: Principal, code: str) -> Any:
    """The resource, if ``principal`` may read its stored data (provider org or the bureau's officers)."""
    authorize(principal, "lake.read")
    res = _resource(session, code)
    if not can_read(session, principal, res):
        raise PermissionDenied("只有数据提供部门和大数据管理局的数据管理员可以查看该资源的数据；其他部门请通过共享交换申请",
                               code="not_data_reader", detail={"provider_code": res.provider_code})
    return res


def mask_rows(res: Any, columns: list[str], rows: list[tuple]) -> list[list[Any]]:
    """Rows for display: personal fields masked (GB/T 35273), dates as ISO text."""
    kinds = {f.name: field_mask_kind(f) for f in res.fields}
    out = []
    for row in rows:
        line = []
        for c, v in zip(columns, row, strict=True):
            k = kinds.get(c)
            if v is None:
                line.append(None)
            elif k:
                line.append(mask_value(k, v))
            else:
                line.append(v.isoformat() if hasattr(v, "isoformat") else v)
        out.append(line)
    return out


def _out(row: LakeVersion, current: int | None = None) -> VersionOut:
    return VersionOut(resource_code=row.resource_code, number=row.number, row_count=row.row_count,
                      columns=list(row.columns or []), created_at=row.created_at,
                      created_by=row.created_by, source=row.source, source_label=row.source_label,
                      input_sm3=row.input_sm3, input_bytes=row.input_bytes, encoding=row.encoding, mode=row.mode,
                      rows_added=row.rows_added, rows_removed=row.rows_removed, rows_changed=row.rows_changed,
                      duration_ms=row.duration_ms, is_current=(current == row.number),
                      warnings=list(row.warnings or []), path=row.path)


def _current_number(session: Session, code: str) -> int | None:
    return session.execute(select(LakePointer.current_number)
                           .where(LakePointer.resource_code == code)).scalar_one_or_none()


def current_version(session: Session, resource_code: str) -> VersionOut | None:
    n = _current_number(session, resource_code)
    if n is None:
        return None
    row = session.execute(select(LakeVersion).where(LakeVersion.resource_code == resource_code,
                                                    LakeVersion.number == n)).scalar_one_or_none()
    return _out(row, n) if row is not None else None


def list_versions(session: Session, resource_code: str) -> list[VersionOut]:
    """Stored versions, newest first (pruned versions are no longer listed)."""
    cur = _current_number(session, resource_code)
    rows = session.execute(select(LakeVersion).where(LakeVersion.resource_code == resource_code,
                                                     LakeVersion.pruned.is_(False))
                           .order_by(LakeVersion.number.desc())).scalars()
    return [_out(r, cur) for r in rows]


def get_version(session: Session, resource_code: str, number: int) -> VersionOut:
    row = session.execute(select(LakeVersion).where(LakeVersion.resource_code == resource_code,
                                                    LakeVersion.number == number)).scalar_one_or_none()
    if row is None or row.pruned:
        raise NotFound(f"资源 {resource_code} 没有第 {number} 版数据", code="unknown_version",
                       detail={"resource_code": resource_code, "number": number})
    return _out(row, _current_number(session, resource_code))


def cast_failures(session: Session, resource_code: str, number: int) -> dict[str, int]:
    """Per column: values present in the source that did not parse as the 信息项's data type."""
    row = session.execute(select(LakeVersion.cast_failures).where(
        LakeVersion.resource_code == resource_code, LakeVersion.number == number)).scalar_one_or_none()
    return dict(row or {})


def parquet_glob(version: VersionOut) -> str:
    return str(lake_dir() / version.path / "*.parquet")


def resources_with_data(session: Session) -> list[str]:
    return list(session.execute(select(LakePointer.resource_code).order_by(LakePointer.resource_code)).scalars())


def read_rows(version: VersionOut, *, limit: int = 50, offset: int = 0,
              where: str | None = None) -> tuple[list[str], list[tuple]]:
    """A page of rows of a version (unmasked: callers mask personal fields before showing them)."""
    con = duck.connect(_tmp_root(), macros=False)
    try:
        sql = f"SELECT * FROM read_parquet({readers._lit(parquet_glob(version))})"
        if where:
            sql += f" WHERE {where}"
        cur = con.execute(sql + f" LIMIT {int(limit)} OFFSET {int(offset)}")
        return [d[0] for d in cur.description], cur.fetchall()
    finally:
        con.close()


def diff(session: Session, resource_code: str, old: int | None, new: int) -> DiffOut:
    """Rows added/removed/changed between two versions (by key when the resource has one)."""
    res = _resource(session, resource_code)
    vn = get_version(session, resource_code, new)
    keys = [f.name for f in res.fields if f.is_key]
    if old is None:
        return DiffOut(resource_code=resource_code, old=None, new=new, key=keys, rows_added=vn.row_count,
                       rows_removed=0, rows_changed=0)
    vo = get_version(session, resource_code, old)
    common = [c for c in vn.columns if c in vo.columns]
    con = duck.connect(_tmp_root(), macros=False)
    try:
        a, r, c = pipeline.diff_versions(con, parquet_glob(vo), parquet_glob(vn), common, keys)
        samples = pipeline.diff_samples(con, parquet_glob(vo), parquet_glob(vn), common, keys)
    finally:
        con.close()
    return DiffOut(resource_code=resource_code, old=old, new=new, key=keys, rows_added=a, rows_removed=r,
                   rows_changed=c, samples=samples)


class _Hasher:
    """SM3 of the input, with byte count. ``update_from_file`` hashes a whole file in a background
    thread (OpenSSL releases the GIL), overlapping with DuckDB's work; ``hexdigest`` waits for it."""

    def __init__(self) -> None:
        self._h = sm3_stream()
        self.n = 0
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def update(self, data: bytes) -> None:
        self._join()
        self._h.update(data)
        self.n += len(data)

    def update_from_file(self, path: Path) -> None:
        self._join()

        def work() -> None:
            try:
                with open(path, "rb") as fh:
                    while buf := fh.read(8 << 20):
                        self._h.update(buf)
                        self.n += len(buf)
            except BaseException as exc:  # noqa: BLE001 - re-raised by hexdigest
                self._error = exc

        self._thread = threading.Thread(target=work, name="citybase-sm3", daemon=True)
        self._thread.start()

    def _join(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            raise self._error

    def hexdigest(self) -> str:
        self._join()
        return self._h.hexdigest()
