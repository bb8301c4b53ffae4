"""The Excel sheet departments fill in: round trip, bad cells, merged cells, hostile files."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest

from citybase.catalog import demo, service
from citybase.catalog.service.excel import COLUMNS
from citybase.core.errors import BadInput, TooLarge
from citybase.core.identity.principal import SYSTEM
from citybase.db import make_session, session_scope
from tests.catalog.helpers import principal_of


def _content(resources):
    keep = {"code", "name", "summary", "class_code", "class_name", "catalog_type", "provider_code", "format",
            "share_type", "share_condition", "share_method", "share_basis", "open_type", "open_condition",
            "update_cycle", "publish_date", "related_codes", "keywords", "fields"}
    return [r.model_dump(include=keep) for r in resources]


def _rows(path: Path, sheet: str = "信息资源目录"):
    wb = openpyxl.load_workbook(path)
    return [list(r) for r in wb[sheet].iter_rows(values_only=True)]


def test_round_trip_without_loss(city, tmp_path):
    demo.load()
    first = tmp_path / "catalog.xlsx"
    with session_scope() as s:
        before = service.list_resources(s)
        assert service.export_xlsx(s, SYSTEM, first) == len(before)
    rows = _rows(first)
    assert rows[0] == COLUMNS
    assert len(rows) - 1 == sum(len(r.fields) for r in before)
    # importing the export into the same catalogue changes nothing
    with session_scope() as s:
        report = service.import_xlsx(s, SYSTEM, first, publish=True)
    assert report.created == [] and report.updated == [] and len(report.unchanged) == len(before)
    # wipe by importing into a fresh catalogue: same content, same cells
    with session_scope() as s:
        from citybase.catalog.models import Resource

        for r in s.query(Resource).all():
            s.delete(r)
    with session_scope() as s:
        report = service.import_xlsx(s, SYSTEM, first, publish=True)
    assert len(report.created) == len(before) == len(report.published)
    with make_session() as s:
        after = service.list_resources(s)
    assert _content(after) == _content(before)
    second = tmp_path / "again.xlsx"
    with session_scope() as s:
        service.export_xlsx(s, SYSTEM, second)
    assert _rows(second) == rows
    assert _rows(second, "扩展属性") == _rows(first, "扩展属性")


def _sheet(tmp_path: Path, rows: list[list], merge: list[str] | None = None, name: str = "t.xlsx") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "目录"
    ws.append(COLUMNS)
    for r in rows:
        ws.append([r.get(c) for c in COLUMNS] if isinstance(r, dict) else r)
    for m in merge or []:
        ws.merge_cells(m)
    path = tmp_path / name
    wb.save(path)
    return path


RES = {"信息资源分类": "202001 生态环境/水环境", "信息资源名称": "饮用水源地水质", "信息资源提供方": "无锡市生态环境局",
       "信息资源提供方代码": "320200-sthjj", "信息资源摘要": "水源地监测", "信息资源格式": "数据库表",
       "共享类型": "无条件共享", "共享方式": "接口调用", "开放属性": "无条件开放", "更新周期": "每日",
       "发布日期": "2026-03-01"}


def _field(name, label, dt="小数", el="text", grade="L1", key="否", null="是", **res):
    return {**res, "信息项名称": name, "信息项中文名": label, "数据类型": dt, "数据元标准": el, "分级": grade,
            "是否主键": key, "是否可为空": null}


def test_blank_and_merged_resource_cells_continue_the_resource(city, tmp_path):
    rows = [_field("zdbm", "站点编码", "字符串", key="是", null="否", **RES), _field("ph", "pH"),
            _field("szlb", "水质类别", "字符串", "enum:Ⅰ类|Ⅱ类|Ⅲ类"),
            _field("gmsfhm", "采样人身份证号", "字符串", "cn_id_card", "L4", **{**RES, "信息资源名称": "采样人员",
                                                                       "信息资源代码": "", "开放属性": "不予开放"}),
            _field("xm", "姓名", "字符串", grade="L3")]
    path = _sheet(tmp_path, rows, merge=["A2:A4", "B2:B4", "E2:E4"])
    with session_scope() as s:
        report = service.import_xlsx(s, principal_of(s, "admin"), path)
    assert len(report.created) == 2
    with make_session() as s:
        water = service.get_resource(s, report.created[0])
        people = service.get_resource(s, report.created[1])
    assert water.status == "draft" and water.code.startswith("202001-")
    assert [f.name for f in water.fields] == ["zdbm", "ph", "szlb"]
    assert water.fields[2].enum_values == ["Ⅰ类", "Ⅱ类", "Ⅲ类"]
    assert water.publish_date.isoformat() == "2026-03-01"
    assert [f.grading for f in people.fields] == ["L4", "L3"]


def test_bad_cells_are_reported_with_sheet_row_and_column(city, tmp_path):
    rows = [_field("zdbm", "站点编码", "文本", key="是", null="否", **RES),
            _field("ph", "pH", grade="L5"),
            _field("1bad", "坏字段", key="也许"),
            _field("ph2", "pH2", **{"共享类型": "随便共享"})]
    path = _sheet(tmp_path, rows)
    with session_scope() as s, pytest.raises(BadInput) as exc:
        service.import_xlsx(s, SYSTEM, path)
    assert exc.value.code == "catalog_import_invalid"
    found = {(e["row"], e["column"], e["code"]) for e in exc.value.detail["errors"]}
    assert (2, "J", "bad_data_type") in found
    assert (3, "L", "bad_grading") in found
    assert (4, "M", "bad_yes_no") in found
    assert all(code != "conflicting_value" for *_, code in found)  # a later row's 共享类型 is a warning
    assert all(e["sheet"] == "目录" for e in exc.value.detail["errors"])
    assert "第 2 行 J 列（数据类型）" in exc.value.message
    with make_session() as s:
        assert service.list_resources(s) == []  # nothing imported


def test_business_rules_map_to_cells(city, tmp_path):
    rows = [_field("zdbm", "站点编码", "字符串", key="是", null="是", **{**RES, "共享类型": "不予共享"}),
            _field("ZDBM", "重复")]
    path = _sheet(tmp_path, rows)
    with session_scope() as s, pytest.raises(BadInput) as exc:
        service.import_xlsx(s, SYSTEM, path)
    found = {(e["row"], e["header"], e["code"]) for e in exc.value.detail["errors"]}
    assert (2, "共享条件", "share_basis_required") in found
    assert (2, "是否可为空", "key_nullable") in found
    assert (3, "信息项名称", "duplicate_field") in found
    assert (2, "开放属性", "open_exceeds_share") in found


def test_department_officer_imports_only_own_resources(city, tmp_path):
    path = _sheet(tmp_path, [_field("zdbm", "站点编码", "字符串", key="是", null="否", **RES)])
    with session_scope() as s, pytest.raises(BadInput) as exc:
        service.import_xlsx(s, principal_of(s, "gaj_officer"), path)
    assert exc.value.code == "not_provider" and "都不是本单位" in exc.value.message
    with session_scope() as s, pytest.raises(Exception) as exc2:
        service.import_xlsx(s, principal_of(s, "gaj_officer"), path, publish=True)
    assert exc2.value.code == "permission_denied"


def test_hostile_files_are_refused_cleanly(city, tmp_path):
    garbage = tmp_path / "garbage.xlsx"
    garbage.write_bytes(b"\x00\xffnot a zip at all" * 100)
    csv = tmp_path / "table.xlsx"
    csv.write_text("信息资源名称,信息项名称\n户籍,xm\n", encoding="utf-8")
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    zip_no_wb = tmp_path / "other.xlsx"
    with zipfile.ZipFile(zip_no_wb, "w") as zf:
        zf.writestr("hello.txt", "hi")
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\x00" * (60 * 1024 * 1024))
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(broken, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<<<not xml")
    header_only = _sheet(tmp_path, [], name="header.xlsx")
    expected = {garbage: "not_xlsx", csv: "not_xlsx", empty: "empty_file", zip_no_wb: "not_xlsx",
                bomb: "zip_bomb", broken: "xlsx_unreadable", header_only: "no_resources"}
    for path, code in expected.items():
        with session_scope() as s, pytest.raises((BadInput, TooLarge)) as exc:
            service.import_xlsx(s, SYSTEM, path)
        assert exc.value.code == code, path.name
        assert exc.value.message and not exc.value.message.isascii()
