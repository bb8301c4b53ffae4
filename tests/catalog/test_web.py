"""The catalogue through HTTP: JSON API, pages, the form, the review inbox, import/export, CLI."""

from __future__ import annotations

import io
import re

import openpyxl

from citybase.catalog import demo
from tests.catalog.helpers import person_resource
from tests.conftest import csrf_of, login


def _json_body():
    return person_resource().model_dump(mode="json")


def test_api_lifecycle_and_visibility(client):
    assert client.get("/api/catalog/resources").status_code == 401
    login(client, "gaj_officer")
    h = {"X-CSRF-Token": csrf_of(client)}
    r = client.post("/api/catalog/resources", json=_json_body(), headers=h)
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    bad = _json_body() | {"share_type": "不予共享"}
    r = client.post("/api/catalog/resources", json=bad, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_resource"
    assert "依据" in r.json()["error"]["message"]
    # an officer of another department can neither see the draft nor edit for the police
    client.cookies.clear()
    login(client, "scjgj_officer")
    h2 = {"X-CSRF-Token": csrf_of(client)}
    assert client.get(f"/api/catalog/resources/{code}").status_code == 404
    r = client.post("/api/catalog/resources", json=_json_body(), headers=h2)
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_provider"
    assert client.get("/api/catalog/resources", params={"status": "*"}).json()["total"] == 0
    client.cookies.clear()
    login(client, "gaj_officer")
    h = {"X-CSRF-Token": csrf_of(client)}
    mine = client.get("/api/catalog/resources", params={"status": "*"}).json()
    assert [i["code"] for i in mine["items"]] == [code]
    assert client.post(f"/api/catalog/resources/{code}/submit", headers=h).json()["status"] == "submitted"
    client.cookies.clear()
    login(client, "dsj_officer")
    h = {"X-CSRF-Token": csrf_of(client)}
    assert [x["code"] for x in client.get("/api/catalog/review-queue").json()] == [code]
    r = client.post(f"/api/catalog/resources/{code}/review", json={"approve": False}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "comment_required"
    r = client.post(f"/api/catalog/resources/{code}/review", json={"approve": True, "comment": "同意"}, headers=h)
    assert r.json()["status"] == "published"
    client.cookies.clear()
    login(client, "grid_worker")
    found = client.get("/api/catalog/resources", params={"q": "hjrk"}).json()
    assert found["total"] == 1 and found["items"][0]["code"] == code
    history = client.get(f"/api/catalog/resources/{code}/history").json()
    assert [e["action"] for e in history] == ["create", "submit", "approve"]


def test_admin_cannot_review_and_reviewer_must_be_bureau(client):
    login(client, "admin")
    h = {"X-CSRF-Token": csrf_of(client)}
    assert client.get("/api/catalog/review-queue").status_code == 403
    r = client.post("/api/catalog/resources", json=_json_body(), headers=h)
    code = r.json()["code"]
    assert client.post(f"/api/catalog/resources/{code}/review", json={"approve": True}, headers=h).status_code == 403
    client.cookies.clear()
    login(client, "gaj_officer")
    assert client.get("/api/catalog/review-queue").json()["error"]["code"] == "not_bureau_reviewer"


def test_pages_browse_detail_form_and_inbox(client):
    demo.load()
    login(client, "gaj_officer")
    page = client.get("/catalog", params={"q": "户籍"}, headers={"accept": "text/html"})
    assert page.status_code == 200 and "户籍人口信息" in page.text and "无锡市公安局" in page.text
    page = client.get("/catalog", params={"share_type": "不予共享"})
    assert "社区矫正对象信息" in page.text and "户籍人口信息" not in page.text
    detail = client.get("/catalog/r/101001-0001")
    assert "公民身份号码" in detail.text and "L4 敏感" in detail.text and 'id="extra-panels"' in detail.text
    token = csrf_of(client, "/catalog/new")
    form = {"csrf_token": token, "name": "居住证办理信息", "class_code": "301001", "class_name": "公安/居住证",
            "provider_code": "320200-gaj", "format": "数据库表", "share_type": "有条件共享",
            "share_condition": "政务核验", "open_type": "不予开放", "update_cycle": "每日",
            "keywords": "居住证；流动人口",
            "f_name": ["gmsfhm", "xm", ""], "f_label": ["公民身份号码", "姓名", ""],
            "f_data_type": ["string", "string", "string"], "f_element": ["cn_id_card", "text", "text"],
            "f_enum_values": ["", "", ""], "f_grading": ["L4", "L3", "L1"], "f_is_key": ["是", "否", "否"],
            "f_nullable": ["否", "是", "是"]}
    r = client.post("/catalog/new", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    code = r.headers["location"].split("/")[3].split("?")[0]
    assert code.startswith("301001-")
    assert "?flash=" in r.headers["location"]
    detail = client.get(r.headers["location"])
    assert "已创建草稿" in detail.text and "提交大数据管理局审核" in detail.text
    bad = dict(form, f_is_key=["是", "否", "否"], f_nullable=["是", "是", "是"])
    r = client.post(f"/catalog/r/{code}/edit", data=bad)
    assert r.status_code == 422 and "主键信息项“公民身份号码”不可为空" in r.text
    r = client.post(f"/catalog/r/{code}/submit", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    client.cookies.clear()
    login(client, "dsj_officer")
    inbox = client.get("/catalog/review")
    assert "居住证办理信息" in inbox.text
    token = csrf_of(client, "/catalog/review")
    r = client.post(f"/catalog/r/{code}/review", data={"csrf_token": token, "decision": "return",
                                                       "comment": "请补充居住地址", "back": "inbox"},
                    follow_redirects=False)
    assert r.headers["location"].startswith("/catalog/review?flash=")
    assert "已退回提供方修改" in client.get(r.headers["location"]).text
    client.cookies.clear()
    login(client, "gaj_officer")
    detail = client.get(f"/catalog/r/{code}")
    assert "请补充居住地址" in detail.text and "已退回" in detail.text


def test_import_export_over_http(client):
    demo.load()
    login(client, "admin")
    r = client.get("/api/catalog/export.xlsx")
    assert r.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.active.max_row > 100
    ws = wb.active
    ws["L2"] = "L9"
    buf = io.BytesIO()
    wb.save(buf)
    token = csrf_of(client, "/catalog/import")
    r = client.post("/catalog/import", data={"csrf_token": token},
                    files={"file": ("目录.xlsx", buf.getvalue(), "application/octet-stream")})
    assert r.status_code == 422
    assert re.search(r"<td>2</td><td>L（分级）</td>", r.text) and "bad_grading" in r.text
    r = client.post("/api/catalog/import", headers={"X-CSRF-Token": token},
                    files={"file": ("x.xlsx", b"garbage", "application/octet-stream")})
    assert r.status_code == 422 and r.json()["error"]["code"] == "not_xlsx"


def test_cli_import_and_export(city, tmp_path):
    from typer.testing import CliRunner

    from citybase.cli import app

    demo.load()
    out = tmp_path / "cat.xlsx"
    runner = CliRunner()
    r = runner.invoke(app, ["catalog", "export", str(out)])
    assert r.exit_code == 0, r.output
    assert out.exists()
    r = runner.invoke(app, ["catalog", "import", str(out), "--publish"])
    assert r.exit_code == 0, r.output
    assert f"无变化 {len(demo.DEMO_RESOURCES)}" in r.output
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04 nonsense")
    r = runner.invoke(app, ["catalog", "import", str(bad)])
    assert r.exit_code == 2 and "not_xlsx" in r.output


def test_detail_page_renders_panels_from_other_modules(client, monkeypatch):
    from markupsafe import Markup

    from citybase import hooks
    from citybase.catalog import panels

    class Versions:
        @hooks.hookimpl
        def catalog_resource_panels(self, session, principal, resource):
            return panels.Panel(id="test-versions", title="数据版本（测试）",
                                html=Markup(f"<p>{resource.code} 共 3 个版本</p>"), order=1)

    class Broken:
        @hooks.hookimpl
        def catalog_resource_panels(self, session, principal, resource):
            raise RuntimeError("boom")

    demo.load()
    monkeypatch.setattr(hooks, "_manager", None)  # a fresh set of plugins for this test alone
    pm = hooks.manager()
    pm.register(Versions(), name="test.versions")
    pm.register(Broken(), name="test.broken")
    login(client, "gaj_staff")
    page = client.get("/catalog/r/202001-0001")
    assert page.status_code == 200
    assert 'id="panel-test-versions"' in page.text and "202001-0001 共 3 个版本" in page.text
    assert "该部分暂时无法显示" in page.text


def test_role_permissions_on_the_api(client):
    demo.load()
    login(client, "auditor")
    h = {"X-CSRF-Token": csrf_of(client)}
    assert client.get("/api/catalog/resources/101001-0001").status_code == 403  # 三员分立: the ledger only
    assert client.post("/api/catalog/resources", json=_json_body(), headers=h).status_code == 403
    client.cookies.clear()
    login(client, "gaj_officer")
    h = {"X-CSRF-Token": csrf_of(client)}
    r = client.post("/api/catalog/resources", json=_json_body(), headers=h)
    code = r.json()["code"]
    assert client.post(f"/api/catalog/resources/{code}/publish-direct", headers=h).status_code == 403
    client.cookies.clear()
    login(client, "gaj_staff")
    h = {"X-CSRF-Token": csrf_of(client)}
    edited = _json_body() | {"summary": "业务人员补充的摘要"}
    assert client.put(f"/api/catalog/resources/{code}", json=edited, headers=h).json()["summary"] == "业务人员补充的摘要"
    assert client.post(f"/api/catalog/resources/{code}/submit", headers=h).status_code == 403
    client.cookies.clear()
    login(client, "operator")  # 城管局 operator: reads the catalogue, cannot see the police draft
    assert client.get(f"/api/catalog/resources/{code}").status_code == 404
    assert client.get("/api/catalog/resources", params={"q": "水质"}).json()["items"][0]["code"] == "202001-0001"
