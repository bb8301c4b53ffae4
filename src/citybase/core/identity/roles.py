"""Roles and what each may do. Deny by default: a permission not listed here is granted to nobody.

Three-role separation (GB/T 39477): the system admin administers but never reads or alters the
audit ledger; the security auditor reads and verifies the ledger but administers nothing and
changes no business data.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    AUDITOR = "auditor"
    DATA_OFFICER = "data_officer"
    STAFF = "staff"
    GRID_WORKER = "grid_worker"
    OPERATOR = "operator"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: "系统管理员",
    Role.AUDITOR: "安全审计员",
    Role.DATA_OFFICER: "首席数据官/数据管理员",
    Role.STAFF: "业务人员",
    Role.GRID_WORKER: "网格员",
    Role.OPERATOR: "城运值班员",
}

ANONYMOUS = "anonymous"

# Permissions are dotted strings "area.verb". Modules add theirs with ``grant``.
_BUSINESS_BASE = {"self.read", "self.token", "portal.read"}

ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.ADMIN: {"self.read", "self.token", "org.read", "org.manage", "user.read", "user.manage",
                 "token.manage", "calendar.manage", "portal.read"},
    Role.AUDITOR: {"self.read", "audit.read", "audit.verify", "audit.export"},
    Role.DATA_OFFICER: set(_BUSINESS_BASE) | {"org.read"},
    Role.STAFF: set(_BUSINESS_BASE),
    Role.GRID_WORKER: set(_BUSINESS_BASE),
    Role.OPERATOR: set(_BUSINESS_BASE),
    ANONYMOUS: {"portal.read"},
}

# Roles whose work is one area and nothing else (三员分立): the auditor sees the ledger only — no
# catalogue, no base library, no public menu entries either.
CONFINED: dict[str, str] = {Role.AUDITOR: "audit."}

# Permissions that must never be given to the admin (separation of duties).
AUDITOR_ONLY = frozenset({"audit.read", "audit.verify", "audit.export"})


def grant(permission: str, *roles: str) -> None:
    """Let modules declare which roles hold their permissions (called at import time)."""
    for role in roles:
        if role == Role.ADMIN and permission in AUDITOR_ONLY:
            raise ValueError("the admin may not hold audit permissions")
        if role in CONFINED and not permission.startswith(CONFINED[role]):
            raise ValueError(f"the {role} role is confined to {CONFINED[role]}* permissions")
        ROLE_PERMISSIONS[role].add(permission)


def has_permission(role: str | None, permission: str) -> bool:
    return permission in ROLE_PERMISSIONS.get(role or ANONYMOUS, set())


def parse_role(value: str) -> Role:
    for role in Role:
        if value in (role.value, role.label) or value == role.name.lower():
            return role
    for role in Role:  # accept the short Chinese names too
        if value and value in role.label.split("/"):
            return role
    from citybase.core.errors import BadInput

    raise BadInput(f"未知角色：{value}", code="unknown_role",
                   detail={"allowed": [r.value for r in Role]})
