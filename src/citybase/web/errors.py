"""One error shape for JSON and HTML. Never a 500 for bad input."""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from citybase.core.errors import CitybaseError, NotAuthenticated, invalid_input

log = logging.getLogger("citybase")

HTTP_MESSAGES = {
    400: ("bad_request", "请求有误"),
    401: ("not_authenticated", "请先登录"),
    403: ("permission_denied", "没有权限执行此操作"),
    404: ("not_found", "页面或接口不存在"),
    405: ("method_not_allowed", "不支持此请求方法"),
    413: ("payload_too_large", "提交的内容过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    429: ("rate_limited", "请求过于频繁，请稍后再试"),
}


def wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/open311/", "/healthz", "/docs", "/openapi")):
        return False
    return "text/html" in request.headers.get("accept", "")


def error_response(request: Request, exc: CitybaseError) -> Response:
    if wants_html(request):
        if isinstance(exc, NotAuthenticated) and request.method == "GET" and exc.code == "not_authenticated":
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        from citybase.web.templating import render

        response = render(request, "error.html", {"error": exc}, status_code=exc.status_code)
    else:
        response = JSONResponse(exc.to_dict(), status_code=exc.status_code)
    response.headers.update(exc.headers)
    return response


def install(app: FastAPI) -> None:
    @app.exception_handler(CitybaseError)
    async def _cb_error(request: Request, exc: CitybaseError) -> Response:
        return error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            err = CitybaseError("请求体不是有效的 JSON", code="invalid_json", status_code=400,
                                detail={"errors": _plain(errors)})
        else:
            err = invalid_input(errors, detail={"errors": _plain(errors)})
        return error_response(request, err)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code, msg = HTTP_MESSAGES.get(exc.status_code, ("http_error", "请求无法处理"))
        return error_response(request, CitybaseError(msg, code=code, status_code=exc.status_code))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        err = CitybaseError("服务器内部错误，已记录，请稍后重试", code="internal_error", status_code=500)
        return error_response(request, err)


def _plain(errors: list) -> list:
    """Validation errors made JSON-safe (they may carry exceptions, bytes, or the NaN a client sent)."""
    return json.loads(json.dumps(_finite(errors), default=str))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
