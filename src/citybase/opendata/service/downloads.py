"""Whole-dataset downloads from the public store: CSV (UTF-8 with BOM, or GBK), XLSX, JSON, Parquet and
a ZIP of everything. CSV and JSON are streamed in Arrow batches; XLSX, Parquet and ZIP are written to a
temporary file first (their formats need it) and streamed from there."""

from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from citybase.catalog.schemas import ResourceOut
from citybase.core.errors import BadInput
from citybase.opendata.service.datastore import Store, _json_value
from citybase.opendata.service.packages import FORMATS
from citybase.opendata.service.public import withheld_fields
from citybase.standards.sql import quote_ident

BATCH = 50_000
XLSX_MAX_ROWS = 1_048_575


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise BadInput(f"不支持的下载格式：{fmt[:20]}（可选：{'、'.join(FORMATS)}）", code="bad_format")
    return fmt


def _names(store: Store) -> list[str]:
    return [c.name for c in store.columns]


def _batches(store: Store) -> Iterator[list[tuple]]:
    cur = store.con.cursor()
    try:
        cur.execute(f"SELECT {', '.join(quote_ident(n) for n in _names(store))} FROM t ORDER BY _id")
        while True:
            rows = cur.fetchmany(BATCH)
            if not rows:
                break
            yield rows
    finally:
        cur.close()


HEADERS = ("labels", "codes")


def check_header(header: str) -> str:
    if header not in HEADERS:
        raise BadInput(f"header 参数只能是 labels（中文列名，默认）或 codes（字段名），实际为“{header[:20]}”",
                       code="bad_header", detail={"allowed": list(HEADERS)})
    return header


def _readable(v: Any) -> Any:
    """A value as people read it in a download: 是/否 for booleans, ISO dates."""
    if isinstance(v, bool):
        return "是" if v else "否"
    return _json_value(v)


def _cell(v: Any) -> Any:
    """A CSV cell: :func:`_readable`, empty for null."""
    return "" if v is None else _readable(v)


def csv_stream(store: Store, encoding: str = "utf-8", header: str = "labels") -> Iterator[bytes]:
    """The dataset as CSV: Chinese column names (``header="codes"``: the field names, for developers),
    是/否 for booleans; UTF-8 with a BOM (Excel opens it right) or GBK."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([c.label or c.name for c in store.columns] if header == "labels" else _names(store))
    head = buf.getvalue()
    yield ("\ufeff" + head).encode("utf-8") if encoding == "utf-8" else head.encode("gbk", errors="replace")
    for rows in _batches(store):
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerows([[_cell(v) for v in r] for r in rows])
        yield buf.getvalue().encode(encoding, errors="replace")


def json_stream(store: Store) -> Iterator[bytes]:
    names = _names(store)
    yield b'{"fields": ' + json.dumps([{"id": c.name, "label": c.label, "type": c.ckan_type} for c in store.columns],
                                      ensure_ascii=False).encode() + b', "records": ['
    first = True
    for rows in _batches(store):
        parts = []
        for r in rows:
            parts.append(json.dumps({n: _json_value(v) for n, v in zip(names, r, strict=True)}, ensure_ascii=False))
        chunk = ",\n".join(parts)
        yield ((b"" if first else b",\n") + chunk.encode())
        first = False
    yield b"]}"


def write_parquet(store: Store, path: Path) -> None:
    cur = store.con.cursor()
    try:
        lit = "'" + str(path).replace("'", "''") + "'"
        cur.execute(f"COPY (SELECT {', '.join(quote_ident(n) for n in _names(store))} FROM t ORDER BY _id) TO {lit} "
                    "(FORMAT PARQUET, COMPRESSION ZSTD)")
    finally:
        cur.close()


def write_xlsx(store: Store, res: ResourceOut, path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("数据")
    ws.append([c.label for c in store.columns])
    ws.append(_names(store))
    n = 0
    for rows in _batches(store):
        for r in rows:
            if n >= XLSX_MAX_ROWS - 2:
                break
            ws.append([_readable(v) for v in r])
            n += 1
    info = wb.create_sheet("说明")
    for line in metadata_lines(res, store):
        info.append(line)
    wb.save(path)


def metadata_lines(res: ResourceOut, store: Store) -> list[list[Any]]:
    lines: list[list[Any]] = [["数据集", res.name], ["代码", res.code], ["提供部门", res.provider_name],
                              ["开放属性", res.open_type], ["更新周期", res.update_cycle],
                              ["版本", f"第 {store.version} 版"], ["行数", store.rows], ["许可", "CC BY 4.0"], [],
                              ["字段名", "字段中文名", "说明"]]
    for c in store.columns:
        lines.append([c.name, c.label, "已脱敏" if c.masked else ""])
    withheld = withheld_fields(res)
    if withheld:
        lines.append([])
        lines.append(["不开放字段", "、".join(f.label for f in withheld), "个人敏感信息，不向社会开放"])
    return lines


def write_zip(store: Store, res: ResourceOut, path: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="cb-od-") as tmp:
        pq = Path(tmp) / "data.parquet"
        write_parquet(store, pq)
        xl = Path(tmp) / "data.xlsx"
        write_xlsx(store, res, xl)
        meta = {"name": res.code, "title": res.name, "provider": res.provider_name, "license": "CC-BY-4.0",
                "version": store.version, "rows": store.rows,
                "fields": [{"name": c.name, "title": c.label, "type": c.ckan_type, "masked": c.masked}
                           for c in store.columns],
                "withheld_fields": [f.label for f in withheld_fields(res)]}
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
            with z.open(f"{res.code}.csv", "w") as fh:
                for chunk in csv_stream(store):
                    fh.write(chunk)
            with z.open(f"{res.code}.json", "w") as fh:
                for chunk in json_stream(store):
                    fh.write(chunk)
            z.write(pq, f"{res.code}.parquet")
            z.write(xl, f"{res.code}.xlsx")
            z.writestr("datapackage.json", json.dumps(meta, ensure_ascii=False, indent=2))
