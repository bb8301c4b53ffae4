"""开放平台 machine interfaces: the CKAN Action API v3, DCAT-AP 3 and data.json, downloads.

The CKAN routes answer in CKAN's envelope and error shapes, never the house's ``{"error": …}``.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from citybase.core.errors import (
    BadInput,
    CitybaseError,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RateLimited,
    TooLarge,
)
from citybase.core.identity.principal import Principal
from citybase.db import make_session, session_scope
from citybase.opendata.service import ckan, datastore, dcat, developers, downloads, packages, usage
from citybase.opendata.service.public import can_get_data, get_listed
from citybase.web.security import ANON_COOKIE, client_ip, public

router = APIRouter(tags=["开放平台"])

STATUS = {"Validation Error": 409, "Not Found Error": 404, "Authorization Error": 403,
          "Search Query Error": 400, "Integrity Error": 400}


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _help(request: Request, name: str) -> str:
    return f"{base_url(request)}/api/3/action/help_show?name={quote(name[:60])}"


def _ckan_error(request: Request, name: str, exc: CitybaseError, headers: dict[str, str] | None = None) -> JSONResponse:
    if isinstance(exc, packages.SearchQueryError):
        etype = "Search Query Error"
    elif isinstance(exc, NotFound):
        etype = "Not Found Error"
    elif isinstance(exc, PermissionDenied | NotAuthenticated | RateLimited):
        etype = "Authorization Error"
    else:
        etype = "Validation Error"
    status = 429 if isinstance(exc, RateLimited) else 413 if isinstance(exc, TooLarge) else STATUS[etype]
    error: dict[str, Any] = {"__type": etype, "message": f"{etype}: {exc.message}", "code": exc.code}
    if etype == "Validation Error":
        fields = exc.detail.get("fields") if isinstance(exc.detail, dict) else None
        key = exc.detail.get("field") if isinstance(exc.detail, dict) else None
        error[str(key or (fields[0] if fields else exc.code))] = [exc.message]
    body = {"help": _help(request, name), "success": False, "error": error}
    return JSONResponse(body, status_code=status, headers={**(headers or {}), **exc.headers})


async def _params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for k, v in request.query_params.multi_items():
        if k in params:
            params[k] = (params[k] if isinstance(params[k], list) else [params[k]]) + [v]
        else:
            params[k] = v
    if request.method == "POST":
        raw = await request.body()
        ctype = request.headers.get("content-type", "")
        if raw.strip():
            if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
                form = await request.form()
                for k, v in form.multi_items():
                    params[k] = v if isinstance(v, str) else ""
            else:
                try:
                    body = json.loads(raw)
                except (ValueError, UnicodeDecodeError):
                    raise BadInput("请求体不是有效的 JSON", code="bad_json") from None
                if not isinstance(body, dict):
                    raise BadInput("请求体应为 JSON 对象", code="bad_json")
                params.update(body)
    return params


def _developer_key(request: Request) -> str | None:
    key = request.headers.get("x-ckan-api-key") or ""
    auth = request.headers.get("authorization", "")
    if not key and auth and not auth.lower().startswith(("bearer ", "basic ")):
        key = auth
    return key.strip() or None


def _limit(request: Request) -> dict[str, str]:
    """Count the call (per key, else per IP); returns the X-RateLimit-* headers; raises 429 when over."""
    key = _developer_key(request)
    dev = None
    with make_session() as s:
        if key:
            dev = developers.resolve_key(s, key)
            s.expunge(dev)
    q = developers.quota(dev, client_ip(request))
    q.raise_if_exceeded("调用过于频繁，已超出每分钟限额，请稍后再试")
    if dev is not None:
        with session_scope() as s:
            developers.touch(s, dev.id)
    return q.headers()


async def _action(request: Request, name: str, principal: Principal) -> Response:
    headers: dict[str, str] = {}
    try:
        if name in ckan.WRITE_ACTIONS:
            if request.method != "POST":
                raise BadInput("Please use POST method（写操作须使用 POST）", code="use_post")
            raise PermissionDenied("开放平台接口为只读，不接受写操作", code="read_only")
        action = ckan.READ_ACTIONS.get(name)
        if action is None:
            return JSONResponse(f"Bad request - Action name not known: {name[:80]}", status_code=400)
        headers = _limit(request)
        params = await _params(request)
        params.pop("callback", None)
        with make_session() as s:
            result = action(s, principal, params, base_url(request))
        dataset = ckan.dataset_of(name, params)
        with session_scope() as s:
            usage.count(s, dataset, "api")
    except CitybaseError as exc:
        return _ckan_error(request, name, exc, headers)
    body = {"help": _help(request, name), "success": True, "result": result}
    return JSONResponse(body, headers=headers)


@router.get("/api/3/action/{name}", dependencies=[Depends(public)], summary="CKAN 接口（GET）")
@router.post("/api/3/action/{name}", dependencies=[Depends(public)], summary="CKAN 接口（POST）")
async def ckan_action(request: Request, name: str, principal: Principal = Depends(public)) -> Response:
    """CKAN Action API v3 (read actions; GET with query parameters or POST JSON)."""
    return await _action(request, name, principal)


@router.get("/api/action/{name}", dependencies=[Depends(public)], include_in_schema=False)
@router.post("/api/action/{name}", dependencies=[Depends(public)], include_in_schema=False)
async def ckan_action_alias(request: Request, name: str, principal: Principal = Depends(public)) -> Response:
    return await _action(request, name, principal)


@router.get("/api/3", dependencies=[Depends(public)], include_in_schema=False)
def api_version() -> dict[str, int]:
    return {"version": 3}


# --------------------------------------------------------------------------- DCAT, data.json

RDF_TYPES = {"jsonld": "application/ld+json", "ttl": "text/turtle"}


def _page(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= 100000:
        raise BadInput("page 必须是正整数", code="bad_page")
    return int(raw)


@router.get("/catalog.jsonld", dependencies=[Depends(public)], summary="开放目录 DCAT（JSON-LD）")
def catalog_jsonld(request: Request) -> Response:
    """DCAT-AP 3 catalogue (JSON-LD), paged with Hydra (?page=)."""
    with make_session() as s:
        text = dcat.serialize(dcat.catalog_graph(s, base_url(request), _page(request)), "jsonld")
    return Response(text, media_type=RDF_TYPES["jsonld"])


@router.get("/catalog.ttl", dependencies=[Depends(public)], summary="开放目录 DCAT（Turtle）")
def catalog_ttl(request: Request) -> Response:
    """DCAT-AP 3 catalogue (Turtle), paged with Hydra (?page=)."""
    with make_session() as s:
        text = dcat.serialize(dcat.catalog_graph(s, base_url(request), _page(request)), "ttl")
    return Response(text, media_type=RDF_TYPES["ttl"])


@router.get("/dataset/{code}.jsonld", dependencies=[Depends(public)], summary="数据集 DCAT（JSON-LD）")
def dataset_jsonld(request: Request, code: str) -> Response:
    with make_session() as s:
        text = dcat.serialize(dcat.dataset_graph(s, base_url(request), code), "jsonld")
    return Response(text, media_type=RDF_TYPES["jsonld"])


@router.get("/dataset/{code}.ttl", dependencies=[Depends(public)], summary="数据集 DCAT（Turtle）")
def dataset_ttl(request: Request, code: str) -> Response:
    with make_session() as s:
        text = dcat.serialize(dcat.dataset_graph(s, base_url(request), code), "ttl")
    return Response(text, media_type=RDF_TYPES["ttl"])


@router.get("/data.json", dependencies=[Depends(public)], summary="开放目录 data.json")
def data_json(request: Request) -> dict[str, Any]:
    """Project Open Data v1.1 catalogue."""
    with make_session() as s:
        return dcat.data_json(s, base_url(request))


# --------------------------------------------------------------------------- downloads

MEDIA = {"csv": "text/csv; charset=utf-8", "gbk.csv": "text/csv; charset=gbk", "json": "application/json"}


def _visitor(request: Request, principal: Principal) -> str:
    if principal.is_authenticated:
        return "u:" + principal.username
    return "a:" + (request.cookies.get(ANON_COOKIE) or client_ip(request))


@router.get("/open/datasets/{code}/download.{fmt}", dependencies=[Depends(public)], summary="下载开放数据集")
def download(request: Request, code: str, fmt: str, header: str = "labels",
             principal: Principal = Depends(public)) -> Response:
    """The whole dataset (public fields only; L2 masked) as CSV (UTF-8 / GBK), XLSX, JSON, Parquet or ZIP.
    CSV columns carry the Chinese names; ``?header=codes`` gives the field names instead."""
    downloads.check_format(fmt)
    downloads.check_header(header)
    _limit(request)
    with make_session() as s:
        res = get_listed(s, code)
        if not can_get_data(s, principal, res):
            if not principal.is_authenticated:
                raise NotAuthenticated("该数据集为“有条件开放”，请登录后提交申请", code="application_required")
            raise PermissionDenied("该数据集为“有条件开放”，您的申请通过后才能下载", code="application_required")
        store = datastore.require_store(s, res)
    with session_scope() as s:
        usage.log_download(s, code, fmt, _visitor(request, principal))
    stamp = time.strftime("%Y%m%d")
    name = f"{code}_{stamp}.{fmt if fmt != 'gbk.csv' else 'gbk.csv'}"
    disp = {"Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(res.name)}_{name}"}
    if fmt in ("csv", "gbk.csv"):
        return StreamingResponse(downloads.csv_stream(store, "utf-8" if fmt == "csv" else "gbk", header),
                                 media_type=MEDIA[fmt], headers=disp)
    if fmt == "json":
        return StreamingResponse(downloads.json_stream(store), media_type=MEDIA[fmt], headers=disp)
    tmp = Path(tempfile.mkstemp(prefix="cb-od-", suffix="." + fmt)[1])
    if fmt == "parquet":
        tmp.unlink()
        downloads.write_parquet(store, tmp)
    elif fmt == "xlsx":
        downloads.write_xlsx(store, res, tmp)
    else:
        downloads.write_zip(store, res, tmp)
    return FileResponse(tmp, media_type=packages.FORMATS[fmt][1], headers=disp,
                        background=BackgroundTask(tmp.unlink, missing_ok=True))
