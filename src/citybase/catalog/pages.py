"""数据资源目录 pages: browse and search, resource detail, the edit form, the review inbox, import/export."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from citybase.catalog import service
from citybase.catalog.classes import CLASSES
from citybase.catalog.panels import panels_for
from citybase.catalog.schemas import (
    DATA_TYPES,
    ELEMENT_LABELS,
    GRADING_LABELS,
    OPEN_TYPES,
    SHARE_TYPES,
    STATUS_LABELS,
    UPDATE_CYCLES,
    FieldIn,
    ResourceIn,
    ResourceOut,
)
from citybase.catalog.service.excel import ATTRIBUTE_LABELS
from citybase.core.errors import BadInput, CitybaseError
from citybase.core.identity import service as identity
from citybase.core.identity.principal import Principal
from citybase.db import make_session, session_scope
from citybase.web import flash
from citybase.web.security import requires
from citybase.web.templating import render

router = APIRouter(prefix="/catalog", include_in_schema=False)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

FILTERS = ("provider_code", "catalog_type", "class_item", "format", "share_type", "open_type")
FACET_TITLES = {"provider_code": "提供方", "catalog_type": "目录类型", "class_item": "资源分类", "format": "资源格式",
                "share_type": "共享类型", "open_type": "开放属性"}
FORMATS = ("数据库表", "电子表格", "接口", "文件", "空间数据", "图片", "音视频")
DONE = {"created": "已创建草稿。确认信息项无误后，请由本单位数据管理员提交审核。", "saved": "已保存修改。",
        "submitted": "已提交大数据管理局审核。", "approved": "审核通过，资源已发布到目录。",
        "returned": "已退回提供方修改，意见已通知。", "withdrawn": "资源已撤回，不再在目录中展示。",
        "published": "资源已重新发布。", "deleted": "草稿已删除。"}


def _common(request: Request, principal: Principal, s: Any) -> dict[str, Any]:
    reviewer = principal.can("catalog.review") and service.is_bureau(s, principal)
    return {"can_edit": principal.can("catalog.edit"), "is_reviewer": reviewer,
            "review_count": len(service.list_resources(s, status="submitted")) if reviewer else 0,
            "status_labels": STATUS_LABELS}


@router.get("", response_class=HTMLResponse)
def browse(request: Request, q: str = "", scope: str = "", page: int = 1,
           principal: Principal = Depends(requires("catalog.read"))) -> Response:
    filters: dict[str, Any] = {k: request.query_params.get(k, "") for k in FILTERS}
    status = request.query_params.get("status", "")
    if scope == "mine":
        filters["provider_code"] = principal.org_code or "-"
        filters["status"] = status or "*"
    with make_session() as s:
        result = service.search_for(s, principal, q, filters, max(1, page), 20)
        ctx = _common(request, principal, s)
    active = {k: v for k, v in filters.items() if v and k in FILTERS}

    def link(**change: Any) -> str:
        params = {"q": q, "scope": scope, **active}
        params.update(change)
        return "/catalog?" + urlencode({k: v for k, v in params.items() if v})

    facet_labels = {name: {i["value"]: i["label"] for i in items} for name, items in result.facets.items()}
    return render(request, "catalog/browse.html", {
        **ctx, "result": result, "q": q, "scope": scope, "active": active, "link": link,
        "facet_titles": FACET_TITLES, "facet_labels": facet_labels, "status": status,
    })


@router.get("/r/{code}", response_class=HTMLResponse)
def detail(request: Request, code: str, principal: Principal = Depends(requires("catalog.read"))) -> Response:
    with make_session() as s:
        res = service.get_resource_for(s, principal, code)
        ctx = _common(request, principal, s)
        history = service.history(s, code)
        related = service.get_many(s, res.related_codes)
        related = [r for r in related if service.can_view(s, principal, r)]
        extra_panels = panels_for(s, principal, res)
        is_provider = principal.org_code == res.provider_code
        actions = {
            "edit": service.can_edit(principal, res),
            "delete": service.can_edit(principal, res) and res.status in ("draft", "returned")
            and res.published_at is None,
            "submit": principal.can("catalog.submit") and is_provider and res.status in ("draft", "returned"),
            "review": ctx["is_reviewer"] and res.status == "submitted",
            "withdraw": res.status == "published" and (
                ctx["is_reviewer"] or principal.can("catalog.publish_direct")
                or (principal.can("catalog.submit") and is_provider)),
            "publish": ctx["is_reviewer"] and res.status == "withdrawn",
            "publish_direct": principal.can("catalog.publish_direct") and res.status != "published",
        }
    return render(request, "catalog/detail.html", {
        **ctx, "r": res, "history": history, "related": related, "actions": actions, "extra_panels": extra_panels,
        "element_labels": ELEMENT_LABELS, "data_types": DATA_TYPES, "grading_labels": GRADING_LABELS,
    })


# ---------------------------------------------------------------- form

def _providers(s: Any, principal: Principal) -> list[tuple[str, str]]:
    if principal.can("catalog.publish_direct") or principal.is_system:
        return [(o.code, o.name) for o in identity.all_orgs(s) if o.kind in ("department", "city", "district")]
    if principal.org_code:
        return [(principal.org_code, principal.org_name or principal.org_code)]
    return []


def _form_ctx(s: Any, principal: Principal, values: dict[str, Any], fields: list[dict[str, Any]],
              code: str | None) -> dict[str, Any]:
    return {"v": values, "fields": fields or [{}], "code": code, "providers": _providers(s, principal),
            "data_types": DATA_TYPES, "element_labels": ELEMENT_LABELS, "grading_labels": GRADING_LABELS,
            "share_types": SHARE_TYPES, "open_types": OPEN_TYPES, "update_cycles": UPDATE_CYCLES,
            "formats": FORMATS, "classes": {k: v for k, v in CLASSES.items() if len(k) >= 3}}


def _values_of(res: ResourceOut | None, principal: Principal) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if res is None:
        return ({"provider_code": principal.org_code or "", "share_type": "有条件共享", "open_type": "不予开放",
                 "update_cycle": "每日", "format": "数据库表"}, [])
    v = res.model_dump(exclude={"fields"})
    v["related_codes"] = "；".join(res.related_codes)
    v["keywords"] = "；".join(res.keywords)
    v["publish_date"] = res.publish_date.isoformat() if res.publish_date else ""
    fields = [{**f.model_dump(), "enum_values": "|".join(f.enum_values)} for f in res.fields]
    return v, fields


async def _parse_form(request: Request) -> tuple[dict[str, Any], list[dict[str, Any]], ResourceIn | None, str]:
    from citybase.catalog.service.excel import split_list

    form = await request.form()
    keys = ("name", "summary", "class_code", "class_name", "provider_code", "format", "share_type",
            "share_condition", "share_method", "share_basis", "open_type", "open_condition", "update_cycle",
            "publish_date", "related_codes", "keywords")
    v = {k: str(form.get(k) or "").strip() for k in keys}
    cols = {k: [str(x) for x in form.getlist(f"f_{k}")] for k in
            ("name", "label", "data_type", "element", "enum_values", "grading", "is_key", "nullable")}
    fields: list[dict[str, Any]] = []
    for i in range(len(cols["name"])):
        row = {k: (cols[k][i].strip() if i < len(cols[k]) else "") for k in cols}
        if not row["name"] and not row["label"]:
            continue
        fields.append(row)
    problems = []
    if not v["name"]:
        problems.append("请填写信息资源名称")
    for i, f in enumerate(fields, start=1):
        if not f["name"] or not f["label"]:
            problems.append(f"第 {i} 个信息项须同时填写名称和中文名")
    if problems:
        return v, fields, None, "；".join(problems)
    try:
        from datetime import date

        data = ResourceIn(
            name=v["name"], summary=v["summary"], class_code=v["class_code"], class_name=v["class_name"],
            provider_code=v["provider_code"], format=v["format"], share_type=v["share_type"] or "有条件共享",
            share_condition=v["share_condition"], share_method=v["share_method"], share_basis=v["share_basis"],
            open_type=v["open_type"] or "不予开放", open_condition=v["open_condition"],
            update_cycle=v["update_cycle"] or "不定期",
            publish_date=date.fromisoformat(v["publish_date"]) if v["publish_date"] else None,
            related_codes=split_list(v["related_codes"]), keywords=split_list(v["keywords"]),
            fields=[FieldIn(name=f["name"], label=f["label"], data_type=f["data_type"] or "string",
                            element=f["element"] or "text", grading=f["grading"] or "L1",
                            is_key=f["is_key"] == "是", nullable=f["nullable"] != "否",
                            enum_values=[x for x in f["enum_values"].replace("｜", "|").split("|") if x.strip()])
                    for f in fields])
    except (ValidationError, ValueError) as exc:
        where = []
        if isinstance(exc, ValidationError):
            where = [".".join(str(p) for p in e["loc"]) for e in exc.errors()]
        return v, fields, None, "表单内容不符合要求" + (f"：{'、'.join(where)}" if where else "（发布日期格式应为 2026-01-31）")
    return v, fields, data, ""


def _problem_text(exc: CitybaseError) -> str:
    problems = (exc.detail or {}).get("problems")
    if problems:
        return "；".join(p["message"] for p in problems)
    return exc.message


@router.get("/new", response_class=HTMLResponse)
def new_form(request: Request, principal: Principal = Depends(requires("catalog.edit"))) -> Response:
    with make_session() as s:
        v, fields = _values_of(None, principal)
        ctx = {**_common(request, principal, s), **_form_ctx(s, principal, v, fields, None)}
    return render(request, "catalog/form.html", ctx)


@router.post("/new", response_class=HTMLResponse)
async def new_submit(request: Request, principal: Principal = Depends(requires("catalog.edit"))) -> Response:
    v, fields, data, error = await _parse_form(request)
    if data is not None:
        try:
            with session_scope() as s:
                out = service.create_resource(s, principal, data)
            return flash.redirect(f"/catalog/r/{out.code}", DONE["created"])
        except (BadInput, CitybaseError) as exc:
            if exc.status_code not in (409, 422):
                raise
            error = _problem_text(exc)
    with make_session() as s:
        ctx = {**_common(request, principal, s), **_form_ctx(s, principal, v, fields, None)}
    return render(request, "catalog/form.html", {**ctx, "flash": error, "flash_kind": "err"}, status_code=422)


@router.get("/r/{code}/edit", response_class=HTMLResponse)
def edit_form(request: Request, code: str, principal: Principal = Depends(requires("catalog.edit"))) -> Response:
    with make_session() as s:
        res = service.get_resource_for(s, principal, code)
        if not service.can_edit(principal, res):
            from citybase.core.errors import IllegalTransition, PermissionDenied

            if principal.org_code != res.provider_code and not principal.can("catalog.publish_direct"):
                raise PermissionDenied("只能编辑本单位提供的信息资源", code="not_provider")
            raise IllegalTransition(f"资源当前状态为“{res.status_label}”，不能修改", code="not_editable")
        v, fields = _values_of(res, principal)
        ctx = {**_common(request, principal, s), **_form_ctx(s, principal, v, fields, code)}
    return render(request, "catalog/form.html", {**ctx, "r": res})


@router.post("/r/{code}/edit", response_class=HTMLResponse)
async def edit_submit(request: Request, code: str,
                      principal: Principal = Depends(requires("catalog.edit"))) -> Response:
    v, fields, data, error = await _parse_form(request)
    if data is not None:
        try:
            with session_scope() as s:
                service.update_resource(s, principal, code, data)
            return flash.redirect(f"/catalog/r/{code}", DONE["saved"])
        except CitybaseError as exc:
            if exc.status_code not in (409, 422):
                raise
            error = _problem_text(exc)
    with make_session() as s:
        ctx = {**_common(request, principal, s), **_form_ctx(s, principal, v, fields, code)}
    return render(request, "catalog/form.html", {**ctx, "flash": error, "flash_kind": "err"}, status_code=422)


# ---------------------------------------------------------------- lifecycle actions

@router.post("/r/{code}/submit")
def submit(code: str, principal: Principal = Depends(requires("catalog.submit"))) -> Response:
    with session_scope() as s:
        service.submit(s, principal, code)
    return flash.redirect(f"/catalog/r/{code}", DONE["submitted"])


@router.post("/r/{code}/review")
async def review(request: Request, code: str, principal: Principal = Depends(requires("catalog.review"))) -> Response:
    form = await request.form()
    approve = form.get("decision") == "approve"
    with session_scope() as s:
        service.review(s, principal, code, approve, str(form.get("comment") or ""))
    target = "/catalog/review" if form.get("back") == "inbox" else f"/catalog/r/{code}"
    return flash.redirect(target, DONE["approved" if approve else "returned"])


@router.post("/r/{code}/withdraw")
async def withdraw(request: Request, code: str, principal: Principal = Depends(requires("catalog.read"))) -> Response:
    form = await request.form()
    with session_scope() as s:
        service.withdraw(s, principal, code, str(form.get("comment") or ""))
    return flash.redirect(f"/catalog/r/{code}", DONE["withdrawn"])


@router.post("/r/{code}/publish")
def publish(code: str, principal: Principal = Depends(requires("catalog.review"))) -> Response:
    with session_scope() as s:
        service.publish(s, principal, code)
    return flash.redirect(f"/catalog/r/{code}", DONE["published"])


@router.post("/r/{code}/publish-direct")
def publish_direct(code: str, principal: Principal = Depends(requires("catalog.publish_direct"))) -> Response:
    with session_scope() as s:
        service.publish_direct(s, principal, code)
    return flash.redirect(f"/catalog/r/{code}", DONE["published"])


@router.post("/r/{code}/delete")
def delete(code: str, principal: Principal = Depends(requires("catalog.edit"))) -> Response:
    with session_scope() as s:
        service.delete_draft(s, principal, code)
    return flash.redirect("/catalog?scope=mine", DONE["deleted"])


@router.get("/review", response_class=HTMLResponse)
def inbox(request: Request, principal: Principal = Depends(requires("catalog.review"))) -> Response:
    with make_session() as s:
        queue = service.review_queue(s, principal)
        changes = service.pending_changes(s) if service.is_bureau(s, principal) else []
        ctx = _common(request, principal, s)
        return render(request, "catalog/review.html", {**ctx, "queue": queue, "changes": changes,
                                                       "change_labels": ATTRIBUTE_LABELS})


@router.post("/changes/{change_id}")
async def decide_change(change_id: int, request: Request,
                        principal: Principal = Depends(requires("catalog.review"))) -> Response:
    form = await request.form()
    approve = form.get("decision") == "approve"
    try:
        with session_scope() as s:
            out = service.decide_change(s, principal, change_id, approve, str(form.get("comment") or ""))
    except CitybaseError as exc:
        return flash.redirect("/catalog/review", exc.message, "err")
    return flash.redirect("/catalog/review", f"已{'同意' if approve else '驳回'}“{out.name}”的变更申请")


# ---------------------------------------------------------------- import / export

@router.get("/import", response_class=HTMLResponse)
def import_page(request: Request, principal: Principal = Depends(requires("catalog.edit"))) -> Response:
    with make_session() as s:
        ctx = _common(request, principal, s)
    return render(request, "catalog/import.html", {**ctx, "report": None, "errors": []})


@router.post("/import", response_class=HTMLResponse)
async def import_submit(request: Request, principal: Principal = Depends(requires("catalog.edit"))) -> Response:
    from starlette.datastructures import UploadFile

    from citybase.catalog.views import save_upload

    form = await request.form()
    upload = form.get("file")
    publish = form.get("publish") == "1" and principal.can("catalog.publish_direct")
    report, errors, message = None, [], ""
    with make_session() as s:
        ctx = _common(request, principal, s)
    if not isinstance(upload, UploadFile) or not upload.filename:
        message = "请选择要导入的 Excel 文件"
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "upload.xlsx"
            try:
                save_upload(upload, path)
                with session_scope() as s:
                    report = service.import_xlsx(s, principal, path, publish=publish)
            except CitybaseError as exc:
                message, errors = exc.message, (exc.detail or {}).get("errors", [])
    status = 200 if report else 422
    return render(request, "catalog/import.html", {**ctx, "report": report, "errors": errors,
                                                   "flash": message, "flash_kind": "err"}, status_code=status)


@router.get("/template.xlsx")
def template(principal: Principal = Depends(requires("catalog.read"))) -> Response:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "template.xlsx"
        service.write_template(path)
        body = path.read_bytes()
    return Response(body, media_type=XLSX, headers={"Content-Disposition": "attachment; filename*=UTF-8''"
                                                    + quote("信息资源目录模板.xlsx")})


@router.get("/export.xlsx")
def export(scope: str = "", principal: Principal = Depends(requires("catalog.read"))) -> Response:
    with session_scope() as s, tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catalog.xlsx"
        if scope == "mine":
            service.export_xlsx(s, principal, path, provider_code=principal.org_code or "-")
        else:
            service.export_xlsx(s, principal, path, status="published")
        body = path.read_bytes()
    return Response(body, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": "attachment; filename*=UTF-8''%E4%BF%A1%E6%81%AF%E8%B5%84%E6%BA%90%E7%9B%AE%E5%BD%95.xlsx"})
