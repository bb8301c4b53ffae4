"""The one error hierarchy. Rendered as JSON ``{"error": {...}}`` for APIs and as a page for people."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class CitybaseError(Exception):
    """A failure the caller can act on: a stable machine code and a Chinese message."""

    status_code: int = 400
    code: str = "bad_request"
    message: str = "请求有误"

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 detail: dict[str, Any] | None = None, status_code: int | None = None) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.detail = detail or {}
        if status_code is not None:
            self.status_code = status_code
        self.headers: dict[str, str] = {}
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "detail": self.detail}}


class BadInput(CitybaseError):
    status_code = 422
    code = "invalid_input"
    message = "输入内容不符合要求"


def invalid_input(errors: Iterable[Mapping[str, Any]], detail: dict[str, Any] | None = None) -> BadInput:
    """The BadInput for values pydantic refused, naming their fields (a request body's fields without
    the ``body`` prefix); ``detail`` defaults to the list of those fields."""
    fields = [f for f in dict.fromkeys(".".join(str(p) for p in e.get("loc", ()) if p != "body") for e in errors)
              if f]
    return BadInput(f"{BadInput.message}：" + "、".join(fields), detail={"fields": fields} if detail is None else detail)


class NotAuthenticated(CitybaseError):
    status_code = 401
    code = "not_authenticated"
    message = "请先登录"


class PermissionDenied(CitybaseError):
    status_code = 403
    code = "permission_denied"
    message = "没有权限执行此操作"


class NotFound(CitybaseError):
    status_code = 404
    code = "not_found"
    message = "找不到请求的对象"


class Conflict(CitybaseError):
    status_code = 409
    code = "conflict"
    message = "与现有数据冲突"


class IllegalTransition(CitybaseError):
    status_code = 409
    code = "illegal_transition"
    message = "当前状态下不允许此操作"


class TooLarge(CitybaseError):
    status_code = 413
    code = "payload_too_large"
    message = "提交的内容过大"


class RateLimited(CitybaseError):
    status_code = 429
    code = "rate_limited"
    message = "请求过于频繁，请稍后再试"
