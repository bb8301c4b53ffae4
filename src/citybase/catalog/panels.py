"""Extra panels on the resource detail page, contributed by other modules (lake, quality, exchange…).

Another module's ``pages.py`` registers a provider at import time::

    from citybase.catalog.panels import Panel, register_panel

    @register_panel
    def versions_panel(session, principal, resource) -> Panel | None:
        return Panel(id="versions", title="数据版本", html=render_fragment(...), order=10)

The detail template ``catalog/detail.html`` renders every panel in its ``extra_panels`` block; pages may
also pass their own ``extra_panels`` in the context, or extend the template and fill the block.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

log = logging.getLogger("citybase.catalog")


@dataclass
class Panel:
    id: str
    title: str
    html: Markup | str = ""
    order: int = 50
    template: str | None = None  # or include a template with ``context``
    context: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.html, str) and not isinstance(self.html, Markup):
            self.html = Markup.escape(self.html)


PanelProvider = Callable[..., "Panel | None"]
_PROVIDERS: list[PanelProvider] = []


def register_panel(provider: PanelProvider) -> PanelProvider:
    if provider not in _PROVIDERS:
        _PROVIDERS.append(provider)
    return provider


def panels_for(session: Any, principal: Any, resource: Any) -> list[Panel]:
    out: list[Panel] = []
    for provider in _PROVIDERS:
        try:
            panel = provider(session, principal, resource)
        except Exception:  # noqa: BLE001 - one module's broken panel must not break the catalogue page
            log.exception("detail panel %s failed for %s", getattr(provider, "__name__", provider), resource.code)
            panel = Panel(id=getattr(provider, "__name__", "panel"), title="扩展信息",
                          html=Markup('<p class="muted">该部分暂时无法显示，已记录错误。</p>'), order=99)
        if panel is not None:
            out.append(panel)
    return sorted(out, key=lambda p: p.order)
