"""The extension points core.identity implements (see citybase/hooks.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from citybase.core.identity import service
from citybase.hooks import NavItem, hookimpl


@hookimpl
def nav_items() -> list[NavItem]:
    return [
        NavItem("系统管理", "/admin", "user.manage", 90),
    ]


@hookimpl
def ledger_people(session: Session, actors: list[str]) -> dict[str, tuple[str, str]]:
    """Display name and organisation per ledger actor; an API token reads as its owner's."""
    out: dict[str, tuple[str, str]] = {}
    for actor in actors:
        username, _, token = actor.partition("#")
        user = service.find_user(session, username)
        if user is None:
            out[actor] = ({"system": "系统"}.get(username, username), "")
        else:
            out[actor] = ((user.display_name or username) + ("（API 令牌）" if token else ""),
                          user.org.name if user.org else "")
    return out


@hookimpl
def ledger_org_members(session: Session, org_code: str) -> list[str]:
    return [u.username for u in service.users_in_org(session, org_code)]


@hookimpl
def ledger_orgs(session: Session) -> list[tuple[str, str]]:
    return [(o.code, o.name) for o in service.all_orgs(session) if o.kind in ("city", "district", "department")]
