"""共享交换 pages: 我的申请, 我的授权 (with a data view), the provider's approval inbox, the bureau's
overview, the per-resource access log, subscriptions (属地回流) and notifications."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup, escape

from citybase.catalog.panels import Panel
from citybase.core.errors import BadInput, CitybaseError
from citybase.core.identity.principal import Principal
from citybase.db import make_session, session_scope
from citybase.exchange import service
from citybase.exchange.schemas import (
    CHANNEL_LABELS,
    OP_LABELS,
    ApproveIn,
    RejectIn,
    RequestIn,
    SubscribeIn,
)
from citybase.web import flash
from citybase.web.security import requires
from citybase.web.templating import render

router = APIRouter(prefix="/exchange", include_in_schema=False)

GRADING = {"L1": "L1 不敏感", "L2": "L2 低敏感", "L3": "L3 较敏感", "L4": "L4 敏感"}
MASK_LABELS = {"cn_id_card": "身份证号脱敏", "mobile": "手机号脱敏", "name": "姓名脱敏", "address": "地址脱敏",
               "generic": "脱敏"}
DONE = {"submitted": "申请已提交，提供部门须在 10 个工作日内答复。", "approved": "已批准，授权即时生效。",
        "rejected": "已驳回，申请部门会收到驳回理由。", "withdrawn": "申请已撤回。",
        "revoked": "授权已撤销，对方下一次调用即被拒绝。", "subscribed": "已订阅，首次回流将在后台交付，完成后会收到消息。",
        "read": "消息已全部标为已读。", "cancelled": "订阅已取消。"}


def _ctx(request: Request, principal: Principal, s: Any, tab: str) -> dict[str, Any]:
    return {"tab": tab, "unread": service.unread_count(s, principal),
            "can_request": principal.can("exchange.request"), "can_approve": principal.can("exchange.approve"),
            "is_bureau": principal.can("exchange.overview") and service.is_bureau(s, principal),
            "grading": GRADING,
            "mask_labels": MASK_LABELS, "op_labels": OP_LABELS, "channel_labels": CHANNEL_LABELS}


def _filter_text(s: Any, code: str, conds: list[dict[str, Any]]) -> str:
    from citybase.catalog import service as catalog

    return service.describe_filter(catalog.find_resource(s, code), conds)


def _split(value: str) -> list[str]:
    return [v.strip() for v in re.split(r"[,，、;；\s]+", value or "") if v.strip()]


def _conditions(form: Any, prefix: str = "f") -> list[dict[str, Any]]:
    """Row-filter rows of a form: <prefix>_field_i, <prefix>_op_i, <prefix>_value_i."""
    out = []
    for i in range(4):
        name = (form.get(f"{prefix}_field_{i}") or "").strip()
        value = (form.get(f"{prefix}_value_{i}") or "").strip()
        if not name or not value:
            continue
        op = (form.get(f"{prefix}_op_{i}") or "=").strip()
        v: Any = value
        if op == "in":
            v = _split(value)
        elif op == "between":
            v = [x.strip() for x in re.split(r"\s*(?:~|至|,|，)\s*", value) if x.strip()]
        out.append({"field": name, "op": op, "value": v})
    return out


# --------------------------------------------------------------------------- consumer: my requests and grants

@router.get("", response_class=HTMLResponse)
def home(request: Request, principal: Principal = Depends(requires("exchange.read"))) -> Response:
    with make_session() as s:
        ctx = _ctx(request, principal, s, "mine")
        items = service.list_requests(s, principal, box="mine") if principal.can("exchange.request") else []
        ctx["filters"] = {r.id: _filter_text(s, r.resource_code, r.row_filter) for r in items}
    return render(request, "exchange/mine.html", {**ctx, "items": items})


@router.get("/request", response_class=HTMLResponse)
def request_form(request: Request, resource: str = "",
                 principal: Principal = Depends(requires("exchange.request"))) -> Response:
    with make_session() as s:
        ctx = _ctx(request, principal, s, "mine")
        if not resource:
            raise BadInput("请从数据资源目录中选择要申请的资源", code="no_resource")
        ctx.update(service.request_form_context(s, principal, resource))
    return render(request, "exchange/request_form.html", {**ctx, "form": {}})


@router.post("/request", response_class=HTMLResponse)
async def request_submit(request: Request, principal: Principal = Depends(requires("exchange.request"))) -> Response:
    form = await request.form()
    code = str(form.get("resource_code") or "")
    fields = [str(v) for v in form.getlist("fields")]
    clear = [str(v) for v in form.getlist("clear_fields")]
    try:
        data = RequestIn(resource_code=code, fields=fields, clear_fields=clear, row_filter=_conditions(form),
                         purpose=str(form.get("purpose") or ""), legal_basis=str(form.get("legal_basis") or ""),
                         period_days=int(str(form.get("period_days") or "365") or 365))
        with session_scope() as s:
            r = service.create_request(s, principal, data)
        return flash.redirect(f"/exchange/requests/{r.id}", DONE["submitted"])
    except (CitybaseError, ValueError) as exc:
        message = exc.message if isinstance(exc, CitybaseError) else _pydantic_message(exc)
        with make_session() as s:
            ctx = _ctx(request, principal, s, "mine")
            ctx.update(service.request_form_context(s, principal, code))
        return render(request, "exchange/request_form.html",
                      {**ctx, "form": dict(form), "sel_fields": fields, "sel_clear": clear, "flash": message,
                       "flash_kind": "err"}, status_code=422)


def _pydantic_message(exc: Exception) -> str:
    text = str(exc)
    if "purpose" in text:
        return "请填写用途（至少 4 个字）"
    if "legal_basis" in text:
        return "请填写申请依据（法律法规或政策文件）"
    if "period_days" in text:
        return "使用期限须在 1 到 1095 天之间"
    return "填写内容不符合要求，请检查后重试"


@router.get("/requests/{request_id}", response_class=HTMLResponse)
def request_detail(request: Request, request_id: int,
                   principal: Principal = Depends(requires("exchange.read"))) -> Response:
    from citybase.catalog import service as catalog

    with make_session() as s:
        r = service.get_request(s, principal, request_id)
        ctx = _ctx(request, principal, s, "inbox" if principal.org_code == r.provider_code else "mine")
        res = catalog.find_resource(s, r.resource_code)
        mask = {f.name: service.mask_kind(f) for f in res.fields} if res else {}
        ctx["filter_text"] = service.describe_filter(res, r.row_filter)
    can_decide = (r.status == "pending" and principal.can("exchange.approve")
                  and principal.org_code == r.provider_code)
    can_withdraw = r.status == "pending" and principal.org_code == r.consumer_code and ctx["can_request"]
    return render(request, "exchange/request_detail.html",
                  {**ctx, "r": r, "resource": res, "mask": mask, "can_decide": can_decide,
                   "can_withdraw": can_withdraw})


@router.post("/requests/{request_id}/approve", response_class=HTMLResponse)
async def approve(request: Request, request_id: int,
                  principal: Principal = Depends(requires("exchange.approve"))) -> Response:
    form = await request.form()
    try:
        with make_session() as s:
            r = service.get_request(s, principal, request_id)
        extra = _conditions(form, "a")
        data = ApproveIn(fields=[str(v) for v in form.getlist("fields")],
                         clear_fields=[str(v) for v in form.getlist("clear_fields")],
                         row_filter=[*r.row_filter, *extra],
                         period_days=int(str(form.get("period_days") or r.period_days)),
                         rate_limit_per_minute=int(str(form.get("rate_limit_per_minute") or "60")),
                         comment=str(form.get("comment") or ""))
        with session_scope() as s:
            service.approve(s, principal, request_id, data)
    except CitybaseError as exc:
        return flash.redirect(f"/exchange/requests/{request_id}", exc.message, "err")
    except ValueError:
        return flash.redirect(f"/exchange/requests/{request_id}", '期限和调用频次须为正整数', "err")
    return flash.redirect(f"/exchange/requests/{request_id}", DONE["approved"])


@router.post("/requests/{request_id}/reject", response_class=HTMLResponse)
async def reject(request: Request, request_id: int,
                 principal: Principal = Depends(requires("exchange.approve"))) -> Response:
    form = await request.form()
    reason = str(form.get("reason") or "").strip()
    if len(reason) < 2:
        return flash.redirect(f"/exchange/requests/{request_id}", '驳回须写明理由', "err")
    with session_scope() as s:
        service.reject(s, principal, request_id, RejectIn(reason=reason))
    return flash.redirect(f"/exchange/requests/{request_id}", DONE["rejected"])


@router.post("/requests/{request_id}/withdraw", response_class=HTMLResponse)
def withdraw(request: Request, request_id: int,
             principal: Principal = Depends(requires("exchange.request"))) -> Response:
    with session_scope() as s:
        service.withdraw(s, principal, request_id)
    return flash.redirect(f"/exchange/requests/{request_id}", DONE["withdrawn"])


@router.get("/grants", response_class=HTMLResponse)
def grants(request: Request, principal: Principal = Depends(requires("exchange.read"))) -> Response:
    with make_session() as s:
        ctx = _ctx(request, principal, s, "grants")
        held = service.list_grants(s, principal, side="consumer")
        given = service.list_grants(s, principal, side="provider")
        ctx["filters"] = {g.id: _filter_text(s, g.resource_code, g.row_filter) for g in [*held, *given]}
    return render(request, "exchange/grants.html", {**ctx, "held": held, "given": given})


@router.get("/grants/{grant_id}", response_class=HTMLResponse)
def grant_detail(request: Request, grant_id: int,
                 principal: Principal = Depends(requires("exchange.read"))) -> Response:
    with make_session() as s:
        ctx = _ctx(request, principal, s, "grants")
        g = service.get_grant(s, principal, grant_id)
        ctx["filter_text"] = _filter_text(s, g.resource_code, g.row_filter)
    can_revoke = (g.status == "active" and principal.can("exchange.approve")
                  and principal.org_code == g.provider_code)
    return render(request, "exchange/grant_detail.html", {**ctx, "g": g, "can_revoke": can_revoke})


@router.post("/grants/{grant_id}/revoke", response_class=HTMLResponse)
async def revoke(request: Request, grant_id: int,
                 principal: Principal = Depends(requires("exchange.approve"))) -> Response:
    form = await request.form()
    with session_scope() as s:
        service.revoke(s, principal, grant_id, str(form.get("reason") or ""))
    return flash.redirect(f"/exchange/grants/{grant_id}", DONE["revoked"])


@router.get("/data/{code}", response_class=HTMLResponse)
def data_view(request: Request, code: str, grant_id: int | None = None, cursor: str | None = None,
              principal: Principal = Depends(requires("exchange.read"))) -> Response:
    """The consumer reads shared rows on screen (an audited call like the API)."""
    from citybase.catalog import service as catalog

    with session_scope() as s:
        ctx = _ctx(request, principal, s, "grants")
        page, _quota = service.query(s, principal, code, grant_id=grant_id, size=50, cursor=cursor)
        res = catalog.get_resource(s, code)
    labels = {f.name: f.label for f in res.fields}
    q = f"grant_id={grant_id}&" if grant_id else ""
    return render(request, "exchange/data.html", {**ctx, "page": page, "resource": res, "labels": labels, "q": q})


# --------------------------------------------------------------------------- provider

@router.get("/inbox", response_class=HTMLResponse)
def inbox(request: Request, status: str = "pending",
          principal: Principal = Depends(requires("exchange.approve"))) -> Response:
    with make_session() as s:
        ctx = _ctx(request, principal, s, "inbox")
        items = service.list_requests(s, principal, box="inbox", status=status or None)
        ctx["filters"] = {r.id: _filter_text(s, r.resource_code, r.row_filter) for r in items}
    return render(request, "exchange/inbox.html", {**ctx, "items": items, "status": status})


@router.get("/log/{code}", response_class=HTMLResponse)
def access_log(request: Request, code: str, principal: Principal = Depends(requires("exchange.log"))) -> Response:
    from citybase.catalog import service as catalog

    with make_session() as s:
        ctx = _ctx(request, principal, s, "log")
        items = service.access_log(s, principal, code)
        res = catalog.get_resource(s, code)
    labels = {f.name: f.label for f in res.fields}
    return render(request, "exchange/log.html", {**ctx, "items": items, "resource": res, "labels": labels})


# --------------------------------------------------------------------------- bureau

@router.get("/overview", response_class=HTMLResponse)
def overview(request: Request, principal: Principal = Depends(requires("exchange.overview"))) -> Response:
    with make_session() as s:
        ctx = _ctx(request, principal, s, "overview")
        data = service.overview(s, principal)
    return render(request, "exchange/overview.html", {**ctx, "o": data})


# --------------------------------------------------------------------------- subscriptions and notifications

@router.get("/subscriptions", response_class=HTMLResponse)
def subscriptions(request: Request, principal: Principal = Depends(requires("exchange.read"))) -> Response:
    from citybase.catalog import service as catalog

    with make_session() as s:
        ctx = _ctx(request, principal, s, "subs")
        items = service.list_subscriptions(s, principal)
        candidates = [r for r in catalog.list_resources(s, status="published")
                      if r.share_type != "不予共享" and r.provider_code != principal.org_code
                      and any(f.element == "division_code" for f in r.fields)
                      and "属地回流" not in r.share_method]
    return render(request, "exchange/subscriptions.html", {**ctx, "items": items, "candidates": candidates})


@router.post("/subscriptions", response_class=HTMLResponse)
async def subscribe(request: Request, principal: Principal = Depends(requires("exchange.request"))) -> Response:
    form = await request.form()
    try:
        with session_scope() as s:
            service.subscribe(s, principal, SubscribeIn(resource_code=str(form.get("resource_code") or "x")))
    except CitybaseError as exc:
        return flash.redirect("/exchange/subscriptions", exc.message, "err")
    return flash.redirect("/exchange/subscriptions", DONE["subscribed"])


@router.get("/notifications", response_class=HTMLResponse)
def notifications(request: Request, principal: Principal = Depends(requires("exchange.read"))) -> Response:
    with make_session() as s:
        ctx = _ctx(request, principal, s, "notes")
        items = service.notifications(s, principal)
    return render(request, "exchange/notifications.html", {**ctx, "items": items})


@router.post("/notifications/read", response_class=HTMLResponse)
def notifications_read(request: Request, principal: Principal = Depends(requires("exchange.read"))) -> Response:
    with session_scope() as s:
        service.mark_read(s, principal)
    return flash.redirect("/exchange/notifications", DONE["read"])


# --------------------------------------------------------------------------- catalogue panel

def exchange_panel(session: Any, principal: Principal, resource: Any) -> Panel | None:
    """The resource page's panel: how this department can get the data (through the catalogue panels hook)."""
    if resource.status != "published" or not principal.can("exchange.read"):
        return None
    code = escape(resource.code)
    parts: list[str] = []
    if resource.share_type == "不予共享":
        parts.append(f'<p>该资源<strong>不予共享</strong>。依据：{escape(resource.share_basis)}</p>')
    elif principal.org_code == resource.provider_code:
        parts.append("<p>本单位提供的资源。可查看其他部门的调用记录。</p>")
        if principal.can("exchange.log"):
            parts.append(f'<a class="btn secondary" href="/exchange/log/{code}">查看访问记录</a>')
    elif resource.share_type == "无条件共享":
        parts.append("<p>无条件共享：各部门登录后可直接查询，个人敏感信息项自动脱敏，每次调用都记入审计。</p>")
        parts.append(f'<a class="btn" href="/exchange/data/{code}">查询共享数据</a>')
    else:
        parts.append(f"<p>有条件共享：{escape(resource.share_condition)}。提交申请后，提供部门在 10 个工作日内答复。</p>")
        if principal.can("exchange.request"):
            parts.append(f'<a class="btn" href="/exchange/request?resource={code}">申请共享</a>')
    return Panel(id="exchange", title="共享交换", html=Markup("".join(parts)), order=30)

