"""Jinja2 environment shared by every module's pages, and the navigation bar they all show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from citybase import hooks
from citybase.core.time import local_iso, local_time
from citybase.hooks import NavItem
from citybase.web import flash
from citybase.web.security import csrf_token, resolve_principal

PKG_ROOT = Path(__file__).resolve().parents[1]


def nav() -> list[NavItem]:
    """The navigation bar: every module's ``nav_items`` hook, in order. For one address a module's
    real entry replaces the portal's placeholder (``ready=False``); otherwise the later module wins."""
    global _NAV
    if _NAV is None:
        by_href: dict[str, NavItem] = {}
        for items in hooks.relay().nav_items()[::-1]:  # pluggy answers last module first
            for item in items:
                held = by_href.get(item.href)
                if held is None or item.ready or not held.ready:
                    by_href[item.href] = item
        _NAV = sorted(by_href.values(), key=lambda n: n.order)
    return _NAV


_NAV: list[NavItem] | None = None


def _template_dirs() -> list[str]:
    dirs = [PKG_ROOT / "web" / "templates"]
    dirs += sorted(p for p in PKG_ROOT.glob("**/templates") if p != dirs[0])
    return [str(d) for d in dirs]


env = Environment(loader=FileSystemLoader(_template_dirs()), autoescape=select_autoescape(["html", "xml"]))
env.filters["local"] = local_time
env.filters["local_iso"] = local_iso


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    principal = resolve_principal(request)
    ctx = {
        "request": request,
        "principal": principal,
        "csrf_token": csrf_token(request),
        "nav": [n for n in nav() if (n.permission is None and not principal.confined) or
                (n.permission is not None and principal.can(n.permission))],
        "path": request.url.path,
    }
    ctx.update(context or {})
    if not ctx.get("flash"):  # what the previous page said, after its redirect (web/flash.py)
        ctx.update(flash.read(request))
    return HTMLResponse(env.get_template(name).render(ctx), status_code=status_code)
