"""开放平台 portal pages under /open: home, search, dataset, 需求通道, developers, provider inbox, dashboard."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from citybase.config import get_settings
from citybase.core.errors import CitybaseError
from citybase.core.identity import service as identity
from citybase.core.identity.principal import Principal
from citybase.db import make_session, session_scope
from citybase.opendata.service import community, developers, packages, portal, usage
from citybase.opendata.service.packages import FACET_TITLES, FORMAT_LABELS
from citybase.opendata.service.public import get_listed, listed_resources, public_fields, withheld_fields
from citybase.web import flash
from citybase.web.security import public, requires
from citybase.web.templating import env, render

router = APIRouter(prefix="/open", include_in_schema=False)


def _is_bureau_officer(principal: Principal) -> bool:
    if not principal.can("opendata.dashboard"):
        return False
    with make_session() as s:
        return community.is_bureau_officer(s, principal)


env.globals["opendata_is_bureau"] = _is_bureau_officer

SEARCH_FACETS = ["organization", "groups", "res_format", "open_type", "update_cycle"]
DEMAND_STATUS = {"open": "待分派", "routed": "部门办理中", "answered": "已答复"}
APP_STATUS = {"pending": "待审批", "approved": "已通过", "rejected": "已驳回"}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("", response_class=HTMLResponse)
def home(request: Request, principal: Principal = Depends(public)) -> Response:
    with make_session() as s:
        figures = portal.figures(s)
        latest = sorted(listed_resources(s), key=lambda r: r.updated_at, reverse=True)[:6]
    return render(request, "opendata/home.html", {"f": figures, "latest": latest})


@router.get("/search", response_class=HTMLResponse)
def search(request: Request, q: str = "", page: int = 1, principal: Principal = Depends(public)) -> Response:
    active = {k: request.query_params.get(k, "") for k in SEARCH_FACETS if request.query_params.get(k)}
    fq = " ".join(f'{k}:"{v}"' for k, v in active.items() if '"' not in v)
    size = 10
    page = max(1, min(page, 1000))
    error = ""
    with make_session() as s:
        try:
            result = packages.search(s, _base(request), q=q[:200], fq=fq, rows=size, start=(page - 1) * size,
                                     facet_fields=SEARCH_FACETS, facet_limit=12)
        except CitybaseError as exc:
            error = exc.message
            result = {"count": 0, "results": [], "search_facets": {}}

    def link(**changes: str) -> str:
        params = {"q": q, **active, **changes}
        return "/open/search?" + urlencode({k: v for k, v in params.items() if v})

    pages = max(1, -(-result["count"] // size))
    return render(request, "opendata/search.html", {"q": q, "result": result, "active": active, "link": link,
                                                    "page": page, "pages": pages, "titles": FACET_TITLES,
                                                    "error": error})


def _dataset_context(request: Request, s: Any, principal: Principal, code: str) -> dict[str, Any]:
    res = get_listed(s, code)
    pkg = packages.package_dict(s, res, _base(request))
    app_status = None
    if principal.is_authenticated and res.open_type == "有条件开放":
        mine = [a for a in community.applications_of(s, principal.username) if a.resource_code == code]
        app_status = mine[0] if mine else None
    return {"res": res, "pkg": pkg, "fields": public_fields(res), "withheld": withheld_fields(res),
            "preview": portal.preview(s, principal, res), "score": portal.quality_score(s, code),
            "rating": community.rating_of(s, code), "comments": community.comments(s, code),
            "related": portal.related(s, res), "usage": usage.totals(s, code), "formats": FORMAT_LABELS,
            "application": app_status, "app_status": APP_STATUS, "base": _base(request)}


DONE = {"rated": "感谢评分。", "commented": "评论已发布。", "applied": "申请已提交，提供部门审批后即可下载。",
        "reported": "已收到举报，多人举报的评论将被隐藏待核查。",
        "demand_created": "需求已提交。大数据管理局将分派给相关部门，答复会公开在此页面。",
        "approved": "已批准，申请人现在可以下载该数据集（个人敏感字段仍不提供）。", "rejected": "已驳回并告知理由。",
        "answered": "答复已公开。", "routed": "需求已分派。"}


@router.get("/datasets/{code}", response_class=HTMLResponse)
def dataset(request: Request, code: str, principal: Principal = Depends(public)) -> Response:
    with make_session() as s:
        ctx = _dataset_context(request, s, principal, code)
    with session_scope() as s:
        usage.count(s, code, "view")
    return render(request, "opendata/dataset.html", ctx)


def _back(code: str, done: str) -> RedirectResponse:
    return flash.redirect(f"/open/datasets/{code}", DONE[done])


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _dataset_error(request: Request, principal: Principal, code: str, exc: CitybaseError) -> Response:
    with make_session() as s:
        ctx = _dataset_context(request, s, principal, code)
    return render(request, "opendata/dataset.html", {**ctx, "flash": exc.message, "flash_kind": "error"},
                  status_code=exc.status_code)


@router.post("/datasets/{code}/rate")
async def rate(request: Request, code: str, principal: Principal = Depends(requires("opendata.apply"))) -> Response:
    form = await _form(request)
    try:
        with session_scope() as s:
            stars = int(form.get("stars", "0")) if form.get("stars", "").isdigit() else 0
            community.rate(s, principal, code, stars)
    except CitybaseError as exc:
        return _dataset_error(request, principal, code, exc)
    return _back(code, "rated")


@router.post("/datasets/{code}/comment")
async def add_comment(request: Request, code: str,
                      principal: Principal = Depends(requires("opendata.apply"))) -> Response:
    form = await _form(request)
    try:
        with session_scope() as s:
            community.comment(s, principal, code, form.get("body", ""))
    except CitybaseError as exc:
        return _dataset_error(request, principal, code, exc)
    return _back(code, "commented")


@router.post("/comments/{comment_id}/report")
async def report(request: Request, comment_id: int, principal: Principal = Depends(public)) -> Response:
    with session_scope() as s:
        row = community.report_comment(s, principal, comment_id)
        code = row.resource_code
    return _back(code, "reported")


@router.post("/datasets/{code}/apply")
async def apply(request: Request, code: str, principal: Principal = Depends(requires("opendata.apply"))) -> Response:
    form = await _form(request)
    try:
        with session_scope() as s:
            community.apply(s, principal, code, form.get("purpose", ""), form.get("applicant", ""))
    except CitybaseError as exc:
        return _dataset_error(request, principal, code, exc)
    return _back(code, "applied")


# --------------------------------------------------------------------------- 需求通道

def _org_names(s: Any) -> dict[str, str]:
    return {o.code: o.name for o in identity.all_orgs(s)}


@router.get("/demands", response_class=HTMLResponse)
def demands(request: Request, principal: Principal = Depends(public)) -> Response:
    with make_session() as s:
        names = _org_names(s)
        rows = [community.demand_public(d, names) for d in community.list_demands(s)]
    return render(request, "opendata/demands.html", {"rows": rows, "status": DEMAND_STATUS, "form": {}})


@router.post("/demands")
async def create_demand(request: Request, principal: Principal = Depends(public)) -> Response:
    form = await _form(request)
    try:
        with session_scope() as s:
            community.create_demand(s, principal, form.get("title", ""), form.get("description", ""),
                                    form.get("contact", ""))
    except CitybaseError as exc:
        with make_session() as s:
            names = _org_names(s)
            rows = [community.demand_public(d, names) for d in community.list_demands(s)]
        return render(request, "opendata/demands.html", {"rows": rows, "status": DEMAND_STATUS, "form": form,
                                                         "flash": exc.message, "flash_kind": "error"},
                      status_code=exc.status_code)
    return flash.redirect("/open/demands", DONE["demand_created"])


# --------------------------------------------------------------------------- developers

@router.get("/developers", response_class=HTMLResponse)
def developer_page(request: Request, principal: Principal = Depends(public)) -> Response:
    return render(request, "opendata/developers.html", {"key": None, "form": {}, "base": _base(request),
                                                        "ip_limit": get_settings().opendata_ip_rpm,
                                                        "key_limit": get_settings().opendata_key_rpm})


@router.post("/developers", response_class=HTMLResponse)
async def developer_register(request: Request, principal: Principal = Depends(public)) -> Response:
    form = await _form(request)
    ctx: dict[str, Any] = {"base": _base(request), "ip_limit": get_settings().opendata_ip_rpm,
                           "key_limit": get_settings().opendata_key_rpm, "form": form, "key": None}
    try:
        with session_scope() as s:
            row, key = developers.register(s, principal, form.get("name", ""), form.get("email", ""),
                                           form.get("purpose", ""))
            ctx.update(key=key, limit=row.rate_limit)
    except CitybaseError as exc:
        return render(request, "opendata/developers.html", {**ctx, "flash": exc.message, "flash_kind": "error"},
                      status_code=exc.status_code)
    return render(request, "opendata/developers.html", ctx)


# --------------------------------------------------------------------------- provider inbox, my applications

@router.get("/inbox", response_class=HTMLResponse)
def inbox(request: Request, principal: Principal = Depends(requires("opendata.approve"))) -> Response:
    with make_session() as s:
        apps = community.applications_for_provider(s, principal.org_code or "-")
        names = {r.code: r.name for r in listed_resources(s)}
        routed = community.list_demands(s, routed_to=principal.org_code or "-")
        datasets = [r for r in listed_resources(s) if r.provider_code == principal.org_code]
    return render(request, "opendata/inbox.html", {"apps": apps, "names": names, "routed": routed,
                                                   "datasets": datasets, "app_status": APP_STATUS,
                                                   "demand_status": DEMAND_STATUS})


@router.post("/applications/{app_id}/decide")
async def decide(request: Request, app_id: int, principal: Principal = Depends(requires("opendata.approve"))) -> Response:
    form = await _form(request)
    approve = form.get("decision") == "approve"
    with session_scope() as s:
        community.decide(s, principal, app_id, approve, form.get("comment", ""))
    return flash.redirect("/open/inbox", DONE["approved" if approve else "rejected"])


@router.post("/demands/{demand_id}/answer")
async def answer(request: Request, demand_id: int,
                 principal: Principal = Depends(requires("opendata.approve"))) -> Response:
    form = await _form(request)
    with session_scope() as s:
        community.answer_demand(s, principal, demand_id, form.get("answer", ""), form.get("resource_code") or None)
    return flash.redirect("/open/inbox", DONE["answered"])


@router.get("/mine", response_class=HTMLResponse)
def mine(request: Request, principal: Principal = Depends(requires("opendata.apply"))) -> Response:
    with make_session() as s:
        apps = community.applications_of(s, principal.username)
        names = {r.code: r.name for r in listed_resources(s)}
    return render(request, "opendata/mine.html", {"apps": apps, "names": names, "app_status": APP_STATUS})


# --------------------------------------------------------------------------- bureau dashboard

@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request, principal: Principal = Depends(requires("opendata.dashboard"))) -> Response:
    with make_session() as s:
        d = portal.dashboard(s, principal)
        names = _org_names(s)
        pending = community.list_demands(s, status="open")
        depts = [o for o in d["orgs"] if o.kind == "department"]
    return render(request, "opendata/admin.html", {"d": d, "names": names, "pending": pending, "depts": depts,
                                                   "demand_status": DEMAND_STATUS})


@router.post("/demands/{demand_id}/route")
async def route(request: Request, demand_id: int,
                principal: Principal = Depends(requires("opendata.route_demand"))) -> Response:
    form = await _form(request)
    with session_scope() as s:
        community.route_demand(s, principal, demand_id, form.get("org_code", ""))
    return flash.redirect("/open/admin", DONE["routed"])
