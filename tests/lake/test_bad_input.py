"""The issue's bad-input list: each gets a clear Chinese error (or a warning naming the rows) and the
current version stays untouched."""

from __future__ import annotations

import io
import sqlite3
import zipfile

import pytest

from citybase.core.errors import BadInput, CitybaseError, TooLarge
from citybase.core.identity.principal import SYSTEM
from citybase.db import make_session, session_scope
from citybase.lake import service as lake
from tests.lake.helpers import PERSONS_CSV, make_resource, write

HEADER = PERSONS_CSV.splitlines()[0]


@pytest.fixture
def loaded(city, tmp_path):
    """A resource whose current version is 1 (three rows)."""
    with session_scope() as s:
        code = make_resource(s)
        lake.ingest_file(s, SYSTEM, code, write(tmp_path / "good.csv", PERSONS_CSV))
    return code


def _refused(code, path, exc=BadInput, **kw) -> CitybaseError:
    with pytest.raises(exc) as info, session_scope() as s:
        lake.ingest_file(s, SYSTEM, code, path, **kw)
    with make_session() as s:
        assert lake.current_version(s, code).number == 1
        assert [v.number for v in lake.list_versions(s, code)] == [1]
    leftovers = [p.name for p in (lake.lake_dir() / code).iterdir() if p.name != "v000001"]
    assert leftovers == []  # no temp folder, no partial version
    return info.value


def test_empty_file(loaded, tmp_path):
    err = _refused(loaded, write(tmp_path / "e.csv", ""))
    assert err.code == "empty_file" and "为空" in err.message


def test_header_only(loaded, tmp_path):
    err = _refused(loaded, write(tmp_path / "h.csv", HEADER + "\n"))
    assert err.code == "header_only" and "只有表头" in err.message


def test_ragged_rows_are_named(loaded, tmp_path):
    text = HEADER + "\n11010519491231002X,张三,女,1949-12-31,13800138000\n1,2,3\n" \
                    "320281197001010012,李四,男,1970-01-01,13912345678,多余\n"
    err = _refused(loaded, write(tmp_path / "r.csv", text))
    assert err.code == "ragged_rows"
    assert [r["line"] for r in err.detail["rows"]] == [3, 4]
    assert "第 3、4 行" in err.message


def test_ragged_row_deep_in_a_large_file_is_named(loaded, tmp_path):
    """Past the first streamed batch the error reaches us through the Arrow stream, not DuckDB."""
    good = "320281197001010012,李四,男,1970-01-01,13912345678\n"
    text = HEADER + "\n" + good * 400_000 + "1,2,3,4,5,6\n" + good * 10
    err = _refused(loaded, write(tmp_path / "deep.csv", text))
    assert err.code == "ragged_rows"
    assert [r["line"] for r in err.detail["rows"]] == [400_002]


def test_mixed_encodings_utf8_file_with_gbk_line(loaded, tmp_path):
    raw = (HEADER + "\n11010519491231002X,张三,女,1949-12-31,13800138000\n").encode("utf-8") + \
        "320281197001010012,李四,男,1970-01-01,13912345678\n".encode("gbk")
    p = tmp_path / "m.csv"
    p.write_bytes(raw)
    err = _refused(loaded, p)
    assert err.code == "mixed_encoding" and "3" in err.message


def test_mixed_encodings_gbk_file_with_utf8_line(loaded, tmp_path):
    raw = (HEADER + "\n11010519491231002X,张三,女,1949-12-31,13800138000\n").encode("gbk") + \
        "320281197001010012,欧阳娜娜,女,1970-01-01,13912345678\n".encode()
    p = tmp_path / "m2.csv"
    p.write_bytes(raw)
    err = _refused(loaded, p)
    assert err.code == "mixed_encoding" and err.detail["line"] == 3


def test_binary_garbage_named_csv(loaded, tmp_path):
    import random

    p = tmp_path / "g.csv"
    rng = random.Random(1)
    p.write_bytes(bytes(rng.randrange(256) for _ in range(5000)))
    err = _refused(loaded, p)
    assert err.code == "binary_file" and "不是文本" in err.message


def test_colliding_column_names(loaded, tmp_path):
    err = _refused(loaded, write(tmp_path / "c.csv", "姓名,Mobile,ＭＯＢＩＬＥ\n张三,1,2\n"))
    assert err.code == "column_name_collision"
    assert "第2列" in err.message and "第3列" in err.message


def test_zip_bomb_named_xlsx(loaded, tmp_path):
    p = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            block = b"\0" * (1 << 20)
            for _ in range(600):  # 600 MB of zeros → ~600 KB compressed
                fh.write(block)
    assert p.stat().st_size < 5 * 1024 * 1024
    err = _refused(loaded, p, exc=TooLarge)
    assert err.code == "zip_bomb" and "压缩炸弹" in err.message


def test_xlsx_with_merged_cells_is_filled_with_a_warning_naming_rows(loaded, tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER.split(","))
    ws.append(["11010519491231002X", "张三", "女", "1949-12-31", "13800138000"])
    ws.append(["320281197001010012", "李四", "男", "1970-01-01", "13912345678"])
    ws.append(["320102198001010015", "王五", None, "1980-01-01", None])
    ws.merge_cells("C3:C4")  # 性别 merged over rows 3–4
    p = tmp_path / "merged.xlsx"
    wb.save(p)
    with session_scope() as s:
        v = lake.ingest_file(s, SYSTEM, loaded, p)
    w = next(w for w in v.warnings if w["code"] == "merged_cells")
    assert w["rows"] == [3, 4] and "第 3–4 行" in w["message"]
    cols, rows = lake.read_rows(v)
    assert [r[2] for r in sorted(rows)] == ["女", "男", "男"]


def test_merged_header_is_refused(loaded, tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["公民身份号码", "姓名", None])
    ws.append(["11010519491231002X", "张三", "女"])
    ws.merge_cells("B1:C1")
    p = tmp_path / "mh.xlsx"
    wb.save(p)
    err = _refused(loaded, p)
    assert err.code == "merged_header"


def test_file_over_the_size_limit(loaded, tmp_path):
    p = write(tmp_path / "big.csv", PERSONS_CSV * 10)
    err = _refused(loaded, p, exc=TooLarge, size_limit=100)
    assert err.code == "file_too_large" and "上限" in err.message


def test_sql_source_timeout_leaves_current_version(loaded, tmp_path):
    from citybase.lake import jobs
    from citybase.lake.schemas import SqlSourceIn

    db = tmp_path / "src.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE t (x INTEGER)")
    slow = ("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 100000000) "
            "SELECT count(*) AS n FROM r")
    with session_scope() as s:
        lake.set_sql_source(s, SYSTEM, loaded, SqlSourceIn(url=f"sqlite:///{db}", query=slow, timeout_s=1))
    with pytest.raises(BadInput) as info:
        jobs.pull_one(loaded)
    assert info.value.code == "sql_source_timeout" and "超过 1 秒" in info.value.message
    with make_session() as s:
        assert lake.current_version(s, loaded).number == 1
        src = lake.get_sql_source(s, loaded)
        assert src.last_status == "failed" and "超过" in src.last_error


def test_sql_source_pull_makes_a_version(loaded, tmp_path):
    from citybase.lake import jobs
    from citybase.lake.schemas import SqlSourceIn

    db = tmp_path / "src.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE rk (sfzh TEXT, xm TEXT, xb TEXT, csrq TEXT, sj TEXT)")
        c.execute("INSERT INTO rk VALUES ('11010519491231002X', '张三', '女', '1949-12-31', '13800138000')")
    with session_scope() as s:
        lake.set_sql_source(s, SYSTEM, loaded, SqlSourceIn(
            url=f"sqlite:///{db}", query="SELECT sfzh AS 公民身份号码, xm AS 姓名, xb AS 性别, csrq AS 出生日期, "
                                         "sj AS 联系电话 FROM rk"))
        assert lake.sources_due(s) == [loaded]  # never pulled, 更新周期 每日
    v = jobs.pull_one(loaded)
    assert v.number == 2 and v.row_count == 1
    with make_session() as s:
        assert lake.sources_due(s) == []
        assert lake.get_sql_source(s, loaded).last_version == 2


def test_unsupported_extension_and_fake_xlsx(loaded, tmp_path):
    assert _refused(loaded, write(tmp_path / "a.doc", "x")).code == "unsupported_format"
    assert _refused(loaded, write(tmp_path / "a.xlsx", "a,b\n1,2\n")).code == "not_xlsx"


def test_bad_xlsx_inside_zip(loaded, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("hello.txt", "hi")
    p = tmp_path / "notbook.xlsx"
    p.write_bytes(buf.getvalue())
    assert _refused(loaded, p).code == "not_xlsx"
