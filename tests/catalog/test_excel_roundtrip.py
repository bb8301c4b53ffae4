"""What a department data officer does with the catalogue sheet: export, edit, import — and the template."""

from __future__ import annotations

import io

import openpyxl
import pytest
from fastapi.testclient import TestClient

from citybase.catalog import demo, service
from citybase.catalog.service.excel import COLUMNS
from citybase.core.errors import BadInput
from citybase.core.identity import service as identity
from citybase.db import make_session, session_scope
from tests.catalog.helpers import principal_of
from tests.conftest import csrf_of, login

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SUMMARY = COLUMNS.index("信息资源摘要")


def _token(username: str) -> str:
    with session_scope() as s:
        return identity.create_token(s, principal_of(s, username), username, name="目录同步")[1]


def _upload(client, body: bytes, headers: dict | None = None):
    return client.post("/api/catalog/import", files={"file": ("目录.xlsx", body, XLSX)}, headers=headers or {})


def _page_import(client, body: bytes):
    return client.post("/catalog/import", files={"file": ("目录.xlsx", body, XLSX)},
                       data={"csrf_token": csrf_of(client, "/catalog/import")})


def _edit(body: bytes, row: int, column: int, value) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(body))
    wb["信息资源目录"].cell(row=row, column=column + 1, value=value)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_own_export_reimports_unchanged_through_the_page_and_a_token(client):
    demo.load()
    login(client, "gaj_officer")
    mine = client.get("/catalog/export.xlsx", params={"scope": "mine"})
    assert mine.status_code == 200 and mine.headers["content-type"] == XLSX
    sheet = openpyxl.load_workbook(io.BytesIO(mine.content))["信息资源目录"]
    rows = list(sheet.iter_rows(values_only=True))
    elements = {r[COLUMNS.index("数据元标准")] for r in rows[1:]}
    assert "居民身份证号码" in elements and "cn_id_card" not in elements and "text" not in elements
    assert sheet.merged_cells.ranges  # resource cells are merged down the resource's rows, not repeated
    page = _page_import(client, mine.content)
    assert page.status_code == 200, page.text
    assert "更新 0 个" in page.text and "新建 0 个" in page.text and "需要修改的单元格" not in page.text
    # a machine client: multipart with a Bearer token and no CSRF token
    machine = TestClient(client.app)
    r = _upload(machine, mine.content, {"Authorization": f"Bearer {_token('gaj_officer')}"})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["created"] == report["updated"] == report["change_requests"] == []
    assert len(report["unchanged"]) == 2 and report["warnings"] == []


def test_whole_published_catalogue_imports_with_other_providers_skipped_once(client):
    demo.load()
    login(client, "gaj_officer")
    body = client.get("/catalog/export.xlsx").content
    r = _upload(TestClient(client.app), body, {"Authorization": f"Bearer {_token('gaj_officer')}"})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["updated"] == [] and len(report["unchanged"]) == 2 and len(report["skipped"]) > 20
    notices = [w for w in report["warnings"] if w["code"] == "other_providers_skipped"]
    assert len(notices) == 1 and f"{len(report['skipped'])} 个其他单位" in notices[0]["message"]


def test_edited_summary_is_one_change_request_on_the_cell_that_changed(client):
    demo.load()
    login(client, "gaj_officer")
    body = client.get("/catalog/export.xlsx", params={"scope": "mine"}).content
    rows = list(openpyxl.load_workbook(io.BytesIO(body))["信息资源目录"].iter_rows(values_only=True))
    first = next(i for i, r in enumerate(rows, start=1) if r[COLUMNS.index("信息资源代码")] == "101001-0001")
    edited = _edit(body, first, SUMMARY, "全市户籍人口基本信息（含迁入迁出）")
    r = _upload(TestClient(client.app), edited, {"Authorization": f"Bearer {_token('gaj_officer')}"})
    assert r.status_code == 200, r.text
    report = r.json()
    assert [c["resource"] for c in report["change_requests"]] == ["101001-0001"]
    change = report["change_requests"][0]
    assert (change["row"], change["column"], change["changed"]) == (first, "F", ["summary"])
    with make_session() as s:
        assert service.get_resource(s, "101001-0001").summary != "全市户籍人口基本信息（含迁入迁出）"
        assert len(service.pending_changes(s)) == 1
    # importing the same edit again replaces the pending request instead of adding a second one
    _upload(TestClient(client.app), edited, {"Authorization": f"Bearer {_token('gaj_officer')}"})
    with make_session() as s:
        (pending, _res), = service.pending_changes(s)
    # the bureau approves it on the review page and it takes effect
    client.cookies.clear()
    login(client, "dsj_officer")
    inbox = client.get("/catalog/review")
    assert f'id="change-{pending.id}"' in inbox.text and "信息资源摘要" in inbox.text
    r = client.post(f"/catalog/changes/{pending.id}", data={"decision": "approve", "csrf_token": csrf_of(client,
                                                            "/catalog/review")}, follow_redirects=False)
    assert r.status_code == 303
    with make_session() as s:
        res = service.get_resource(s, "101001-0001")
        assert res.summary == "全市户籍人口基本信息（含迁入迁出）" and res.status == "published"
        assert service.pending_changes(s) == []


def test_a_later_row_that_differs_is_one_warning_not_an_error_per_row(city, tmp_path):
    demo.load()
    path = tmp_path / "mine.xlsx"
    with session_scope() as s:
        service.export_xlsx(s, principal_of(s, "gaj_officer"), path, provider_code="320200-gaj")
    wb = openpyxl.load_workbook(path)
    ws = wb["信息资源目录"]
    for merged in list(ws.merged_cells.ranges):
        ws.unmerge_cells(str(merged))
    rows = [r for r in range(2, ws.max_row + 1) if ws.cell(r, 3).value in ("101001-0001", None)][:10]
    for r in rows[1:]:
        ws.cell(r, 3, "101001-0001")  # the code repeated on every row, as people fill it
        ws.cell(r, SUMMARY + 1, "另一段摘要")
    wb.save(path)
    with session_scope() as s:
        report = service.import_xlsx(s, principal_of(s, "gaj_officer"), path)
    conflicts = [w for w in report.warnings if w["code"] == "conflicting_value"]
    assert len(conflicts) == 1 and conflicts[0]["header"] == "信息资源摘要"
    assert report.change_requests == [] and len(report.unchanged) == 2


def test_blank_template_round_trips(client, tmp_path):
    login(client, "scjgj_officer")
    r = client.get("/catalog/template.xlsx")
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    ws = wb["信息资源目录"]
    assert [c.value for c in ws[1]] == COLUMNS
    assert ws.cell(2, COLUMNS.index("信息资源代码") + 1).value == "示例"
    validations = {str(dv.sqref).split(":")[0][:-1]: dv.formula1 for dv in ws.data_validations.dataValidation}
    assert set(validations) >= {"J", "K", "L", "O", "S"}  # 数据类型 数据元标准 分级 共享类型 更新周期
    assert "取值" in wb.sheetnames and wb["取值"].sheet_state == "hidden"
    # unchanged, the template says what to do instead of importing the example
    page = _page_import(client, r.content)
    assert page.status_code == 422 and "只有示例行" in page.text
    # filled in below the example, with Chinese names and a class given by its name path
    row = {"信息资源分类": "人口/人口基本信息", "信息资源名称": "环境执法人员",
           "信息资源提供方": "无锡市市场监督管理局", "信息资源提供方代码": "320200-scjgj", "信息资源摘要": "执法人员名册",
           "信息资源格式": "数据库表", "信息项名称": "gmsfhm", "信息项中文名": "公民身份号码", "数据类型": "字符串",
           "数据元标准": "居民身份证号码", "分级": "L4", "是否主键": "是", "是否可为空": "否", "共享类型": "有条件共享",
           "共享条件": "执法协同", "共享方式": "接口调用", "开放属性": "不予开放", "更新周期": "每月"}
    ws.append([row.get(c) for c in COLUMNS])
    ws.append([None] * 7 + ["xm", "姓名", "字符串", "自由文本", "L3", "否", "否"] + [None] * 7)
    filled = io.BytesIO()
    wb.save(filled)
    page = _page_import(client, filled.getvalue())
    assert page.status_code == 200, page.text
    with make_session() as s:
        (res,) = service.list_resources(s, provider_code="320200-scjgj", status="draft")
    assert res.class_code == "101001" and res.class_name == "人口/人口基本信息"
    assert [(f.name, f.element) for f in res.fields] == [("gmsfhm", "cn_id_card"), ("xm", "text")]


def test_class_accepts_code_name_path_or_both(city):
    from citybase.catalog.service.excel import parse_class

    assert parse_class("101001") == ("101001", "人口/人口基本信息")
    assert parse_class("基础信息资源/人口/人口基本信息") == ("101001", "人口/人口基本信息")
    assert parse_class("101001 人口/人口基本信息") == ("101001", "人口/人口基本信息")
    with pytest.raises(ValueError, match="具体到目"):
        parse_class("基础信息资源/人口")
    with pytest.raises(ValueError, match="6–9 位"):
        parse_class("人口/不存在的目")


def test_officer_with_only_other_providers_gets_one_clear_error(city, tmp_path):
    demo.load()
    path = tmp_path / "others.xlsx"
    with session_scope() as s:
        service.export_xlsx(s, principal_of(s, "admin"), path, provider_code="320200-sthjj")
    with session_scope() as s, pytest.raises(BadInput) as exc:
        service.import_xlsx(s, principal_of(s, "gaj_officer"), path)
    assert exc.value.code == "not_provider" and "都不是本单位" in exc.value.message


def test_an_unknown_change_request_is_a_clear_answer(client):
    login(client, "dsj_officer")
    token = csrf_of(client, "/catalog/review")
    for change_id in ("999", "9223372036854775808"):
        r = client.post(f"/catalog/changes/{change_id}", data={"decision": "approve", "csrf_token": token},
                        follow_redirects=True)
        assert r.status_code in (200, 422) and ("变更申请不存在" in r.text or "error" in r.text), change_id
