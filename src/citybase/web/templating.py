"""Jinja2 environment shared by every module's pages, and the navigation registry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from citybase.web.security import csrf_token, resolve_principal

PKG_ROOT = Path(__file__).resolve().parents[1]
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    permission: str | None  # None: visible to everyone
    order: int
    ready: bool = True


NAV: list[NavItem] = []


def register_nav(label: str, href: str, permission: str | None, order: int, ready: bool = True) -> None:
    NAV[:] = [n for n in NAV if n.href != href] + [NavItem(label, href, permission, order, ready)]
    NAV.sort(key=lambda n: n.order)


def _template_dirs() -> list[str]:
    dirs = [PKG_ROOT / "web" / "templates"]
    dirs += sorted(p for p in PKG_ROOT.glob("**/templates") if p != dirs[0])
    return [str(d) for d in dirs]


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(SHANGHAI).strftime(fmt)


def local_iso(value: str | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """An ISO-8601 UTC text (as the ledger stores it) shown in Asia/Shanghai."""
    if not value:
        return ""
    try:
        return local_time(datetime.fromisoformat(value), fmt)
    except ValueError:
        return value


env = Environment(loader=FileSystemLoader(_template_dirs()), autoescape=select_autoescape(["html", "xml"]))
env.filters["local"] = local_time
env.filters["local_iso"] = local_iso


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    principal = resolve_principal(request)
    ctx = {
        "request": request,
        "principal": principal,
        "csrf_token": csrf_token(request),
        "nav": [n for n in NAV if n.permission is None or principal.can(n.permission)],
        "path": request.url.path,
    }
    ctx.update(context or {})
    return HTMLResponse(env.get_template(name).render(ctx), status_code=status_code)
