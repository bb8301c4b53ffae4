"""Extra panels on the resource detail page, contributed by other modules (lake, exchange…).

Another module answers the ``catalog_resource_panels`` hook in its ``hooks.py``::

    @hookimpl
    def catalog_resource_panels(session, principal, resource) -> Panel | None:
        return Panel(id="versions", title="数据版本", html=render_fragment(...), order=10)

The detail template ``catalog/detail.html`` renders every panel in its ``extra_panels`` block; pages may
also pass their own ``extra_panels`` in the context, or extend the template and fill the block.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from citybase import hooks

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


def panels_for(session: Any, principal: Any, resource: Any) -> list[Panel]:
    """Every module's panel for this resource, by ``order``; a failing one shows a notice in its place."""
    out: list[Panel] = []
    for module, provider in hooks.implementations("catalog_resource_panels"):
        try:
            panel = provider(session=session, principal=principal, resource=resource)
        except Exception:  # noqa: BLE001 - one module's broken panel must not break the catalogue page
            log.exception("detail panel of %s failed for %s", module, resource.code)
            panel = Panel(id=module.replace(".", "-"), title="扩展信息",
                          html=Markup('<p class="muted">该部分暂时无法显示，已记录错误。</p>'), order=99)
        if panel is not None:
            out.append(panel)
    return sorted(out, key=lambda p: p.order)
