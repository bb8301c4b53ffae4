"""The one way a page tells the next page what just happened ("已提交审核", "驳回须写明理由").

After a form post the page redirects (303) to where the user goes next, with one query parameter,
``flash``: the message and its kind (``ok``, ``err`` or ``warn``), signed and URL-quoted. The page
shown next finds it in its context as ``flash`` / ``flash_kind`` (``templating.render`` reads it) and
the base template shows it. Signed, because a message in a link is otherwise anyone's to write: a
crafted ``?flash=您的账号已停用，请致电…`` would appear on citybase's own page. A message older than
ten minutes is not shown (a bookmarked or shared address does not repeat it).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from itsdangerous import BadData, URLSafeTimedSerializer

from citybase.web.security import secret_key

PARAM = "flash"
KINDS = ("ok", "err", "warn")
MAX_AGE_SECONDS = 600
_MAX_MESSAGE = 300


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key(), salt="citybase-flash")


def url(target: str, message: str, kind: str = "ok") -> str:
    """``target`` with the signed message added as its ``flash`` parameter (before any #fragment)."""
    if kind not in KINDS:
        raise ValueError(f"flash kind must be one of {KINDS}")
    token = _serializer().dumps([kind, message[:_MAX_MESSAGE]])
    path, hash_, fragment = target.partition("#")
    path += ("&" if "?" in path else "?") + f"{PARAM}={quote(token)}"
    return path + hash_ + fragment


def redirect(target: str, message: str, kind: str = "ok") -> RedirectResponse:
    """See-other redirect to ``target`` that shows ``message`` there."""
    return RedirectResponse(url(target, message, kind), status_code=303)


def read(request: Request) -> dict[str, Any]:
    """``{"flash": message, "flash_kind": kind}`` when the request carries a valid message, else ``{}``."""
    token = request.query_params.get(PARAM)
    if not token:
        return {}
    try:
        kind, message = _serializer().loads(token, max_age=MAX_AGE_SECONDS)
    except (BadData, TypeError, ValueError):
        return {}
    if kind not in KINDS or not isinstance(message, str):
        return {}
    return {"flash": message, "flash_kind": kind}
