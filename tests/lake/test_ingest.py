"""Ingest: every source format, mapping, modes and diffs, lineage, retention, permissions."""

from __future__ import annotations

import json
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from citybase.config import get_settings
from citybase.core.errors import PermissionDenied
from citybase.core.identity.principal import SYSTEM
from citybase.db import make_session, session_scope
from citybase.lake import service as lake
from citybase.standards.crypto import sm3_hex
from tests.lake.helpers import PERSONS_CSV, make_resource, principal_of, write

EXPECTED = [
    ("11010519491231002X", "张三", "女", date(1949, 12, 31), "13800138000"),
    ("320281197001010012", "李四", "男", date(1970, 1, 1), "13912345678"),
    ("320102198001010015", "王五", "男", date(1980, 1, 1), None),
]


@pytest.fixture
def code(city):
    with session_scope() as s:
        return make_resource(s)


def _rows(code: str) -> list[tuple]:
    with make_session() as s:
        v = lake.current_version(s, code)
    cols, rows = lake.read_rows(v, limit=100)
    assert cols == ["id_number", "name", "gender", "birth_date", "mobile"]
    return sorted(rows)


def _ingest(code, path, **kw):
    with session_scope() as s:
        return lake.ingest_file(s, SYSTEM, code, path, **kw)


@pytest.mark.parametrize("encoding,expected", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gbk"),
                                               ("gb18030", "gbk")])
def test_csv_encodings_detected(code, tmp_path, encoding, expected):
    p = write(tmp_path / "p.csv", PERSONS_CSV, encoding)
    v = _ingest(code, p)
    assert v.number == 1 and v.row_count == 3 and v.encoding == expected
    assert v.input_sm3 == sm3_hex(p.read_bytes())
    assert v.input_bytes == p.stat().st_size
    assert _rows(code) == sorted(EXPECTED)


def test_tsv_xlsx_json_jsonl_parquet_give_the_same_rows(code, tmp_path):
    import openpyxl

    lines = [line.split(",") for line in PERSONS_CSV.strip().splitlines()]
    (tmp_path / "p.tsv").write_text("\n".join("\t".join(r) for r in lines) + "\n", encoding="utf-8")
    wb = openpyxl.Workbook()
    wb.active.title = "首页"
    ws = wb.create_sheet("人口")
    for r in lines:
        ws.append([c or None for c in r])
    wb.save(tmp_path / "p.xlsx")
    objs = [dict(zip(lines[0], [c or None for c in r], strict=True)) for r in lines[1:]]
    (tmp_path / "p.json").write_text(json.dumps(objs, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "p.jsonl").write_text("\n".join(json.dumps(o, ensure_ascii=False) for o in objs), encoding="utf-8")
    pq.write_table(pa.table({k: [o[k] for o in objs] for k in lines[0]}), tmp_path / "p.parquet")
    for n, (name, kw) in enumerate([("p.tsv", {}), ("p.xlsx", {"sheet": "人口"}), ("p.json", {}), ("p.jsonl", {}),
                                    ("p.parquet", {})], start=1):
        v = _ingest(code, tmp_path / name, **kw)
        assert v.number == n and v.row_count == 3, name
        assert _rows(code) == sorted(EXPECTED), name
        assert v.rows_added == (3 if n == 1 else 0) and v.rows_changed == 0, name


def test_columns_map_by_name_label_and_override(code, tmp_path):
    p = write(tmp_path / "m.csv", "证件号,姓名,GENDER,出生日期,电话,备注\n"
                                  "11010519491231002X,张三,女,19491231,13800138000,x\n")
    v = _ingest(code, p, mapping={"证件号": "id_number", "电话": "mobile"})
    assert v.row_count == 1
    codes = {w["code"] for w in v.warnings}
    assert "unmapped_columns" in codes  # 备注
    cols, rows = lake.read_rows(v)
    assert rows == [("11010519491231002X", "张三", "女", date(1949, 12, 31), "13800138000")]


def test_modes_and_diff_counts(code, tmp_path):
    _ingest(code, write(tmp_path / "a.csv", PERSONS_CSV))
    # upsert: one changed (王五 → 赵六), one new
    up = PERSONS_CSV.splitlines()[0] + "\n320102198001010015,赵六,男,1980-01-01,\n" \
        "320205199002020023,钱七,女,1990-02-02,13600000000\n"
    v2 = _ingest(code, write(tmp_path / "b.csv", up), mode="upsert")
    assert (v2.row_count, v2.rows_added, v2.rows_removed, v2.rows_changed) == (4, 1, 0, 1)
    v3 = _ingest(code, write(tmp_path / "c.csv", PERSONS_CSV.splitlines()[0] + "\n320205199002020023,钱七,女,"
                                                 "1990-02-02,13600000000\n"), mode="append")
    assert (v3.row_count, v3.rows_added) == (5, 1)
    v4 = _ingest(code, write(tmp_path / "d.csv", PERSONS_CSV), mode="replace")
    assert v4.row_count == 3 and v4.rows_removed == 1 + 1  # 钱七 (twice) gone: keyed diff counts keys
    with make_session() as s:
        d = lake.diff(s, code, 1, 2)
        assert (d.rows_added, d.rows_removed, d.rows_changed) == (1, 0, 1)
        assert [r["name"] for r in d.samples["changed"]] == ["赵六"]
        assert [v.number for v in lake.list_versions(s, code)] == [4, 3, 2, 1]
        assert lake.current_version(s, code).number == 4


def test_keeps_last_n_versions(code, tmp_path, monkeypatch):
    monkeypatch.setattr(get_settings(), "lake_keep_versions", 2)
    p = write(tmp_path / "a.csv", PERSONS_CSV)
    for _ in range(4):
        _ingest(code, p)
    with make_session() as s:
        assert [v.number for v in lake.list_versions(s, code)] == [4, 3]
    folders = sorted(x.name for x in (lake.lake_dir() / code).iterdir() if x.name.startswith("v"))
    assert folders == ["v000003", "v000004"]


def test_ingest_table_and_lineage(code):
    t = pa.table({"公民身份号码": ["11010519491231002X"], "姓名": ["张三"], "性别": ["女"],
                  "出生日期": [date(1949, 12, 31)], "联系电话": [None]})
    with session_scope() as s:
        v = lake.ingest_table(s, SYSTEM, code, t, source_label="baselib 人口库")
    assert v.source == "table:baselib 人口库" and v.row_count == 1 and len(v.input_sm3) == 64
    with make_session() as s:
        from citybase.core.audit.service import entries_for_object

        actions = [e.action for e in entries_for_object(s, "resource", code)]
    assert "lake.ingest" in actions


def test_cast_failures_are_warnings_not_errors(code, tmp_path):
    p = write(tmp_path / "c.csv", PERSONS_CSV.replace("1980-01-01", "八零年"))
    v = _ingest(code, p)
    assert v.row_count == 3
    w = next(w for w in v.warnings if w["code"] == "cast_failures")
    assert w["columns"] == {"birth_date": 1}
    with make_session() as s:
        assert lake.cast_failures(s, code, 1) == {"birth_date": 1}


def test_only_the_provider_org_may_ingest_and_read(code, tmp_path):
    p = write(tmp_path / "a.csv", PERSONS_CSV)
    with session_scope() as s:
        lake.ingest_file(s, principal_of(s, "gaj_staff"), code, p)
    with session_scope() as s, pytest.raises(PermissionDenied):
        lake.ingest_file(s, principal_of(s, "scjgj_officer"), code, p)
    with make_session() as s:
        assert lake.check_read(s, principal_of(s, "gaj_officer"), code).code == code
        assert lake.check_read(s, principal_of(s, "dsj_officer"), code).code == code  # the bureau
        with pytest.raises(PermissionDenied):
            lake.check_read(s, principal_of(s, "scjgj_officer"), code)
