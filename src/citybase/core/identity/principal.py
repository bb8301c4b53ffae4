"""Who is calling, and the one permission check every route and service uses."""

from __future__ import annotations

from dataclasses import dataclass, field

from citybase.core.errors import NotAuthenticated, PermissionDenied
from citybase.core.identity.roles import ANONYMOUS, CONFINED, ROLE_LABELS, Role, has_permission


@dataclass(frozen=True)
class Principal:
    username: str
    role: str
    user_id: int | None = None
    display_name: str = ""
    org_code: str | None = None
    org_name: str = ""
    via: str = "anonymous"  # session | token | anonymous | system
    token_id: int | None = None
    session_id: str | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_authenticated(self) -> bool:
        return self.via in ("session", "token", "system")

    @property
    def is_system(self) -> bool:
        return self.via == "system"

    @property
    def actor(self) -> str:
        """How the ledger names this caller."""
        if self.via == "token":
            return f"{self.username}#token{self.token_id}"
        return self.username

    @property
    def role_label(self) -> str:
        try:
            return ROLE_LABELS[Role(self.role)]
        except ValueError:
            return {"system": "系统", ANONYMOUS: "公众"}.get(self.role, self.role)

    @property
    def confined(self) -> bool:
        """True for a role confined to one area (the auditor): public menu entries are not for it."""
        return self.role in CONFINED

    def can(self, permission: str) -> bool:
        if permission == "public":
            return True
        if self.is_system:
            # The host's own CLI runs as "system": it may administer, never read the ledger as a user.
            return not permission.startswith("audit.read")
        return has_permission(self.role, permission)


ANON = Principal(username="anonymous", role=ANONYMOUS)
SYSTEM = Principal(username="system", role="system", via="system", display_name="系统")


def authorize(principal: Principal, permission: str) -> None:
    """Raise unless ``principal`` holds ``permission``. Deny by default."""
    if principal.can(permission):
        return
    if not principal.is_authenticated:
        raise NotAuthenticated(detail={"permission": permission})
    raise PermissionDenied(detail={"permission": permission, "role": principal.role})
