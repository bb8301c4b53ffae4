"""Load the Wuxi demo: accounts for every role, and each module's demo data."""

from __future__ import annotations

from typing import Any

from citybase.config import get_settings
from citybase.core.identity import service as identity
from citybase.core.identity.principal import SYSTEM
from citybase.core.identity.roles import ROLE_LABELS, Role
from citybase.db import session_scope

DEMO_PASSWORD = "citybase2026"

# (username, display name, role, org code suffix or full code)
DEMO_USERS: list[tuple[str, str, Role, str]] = [
    ("admin", "系统管理员", Role.ADMIN, "{city}-dsj"),
    ("auditor", "安全审计员", Role.AUDITOR, "{city}-dsj"),
    ("dsj_officer", "周明（大数据局数据官）", Role.DATA_OFFICER, "{city}-dsj"),
    ("gaj_officer", "陈立（公安局数据管理员）", Role.DATA_OFFICER, "{city}-gaj"),
    ("gaj_staff", "王芳（公安局业务人员）", Role.STAFF, "{city}-gaj"),
    ("scjgj_officer", "李强（市场监管局数据管理员）", Role.DATA_OFFICER, "{city}-scjgj"),
    ("operator", "赵敏（城运中心值班员）", Role.OPERATOR, "{city}-cgj"),
    ("grid_worker", "孙伟（网格员）", Role.GRID_WORKER, "{first_street}"),
]

def load_demo(console: Any = None, with_modules: bool = True) -> list[dict[str, str]]:
    city = get_settings().city_code
    accounts = []
    with session_scope() as s:
        first_street = identity.first_org(s, "street").code
        for username, name, role, org_tpl in DEMO_USERS:
            org_code = org_tpl.format(city=city, first_street=first_street)
            if identity.find_org(s, org_code) is None:
                org_code = identity.bureau_code(s)
            if identity.find_user(s, username) is None:
                identity.create_user(s, SYSTEM, username=username, org_code=org_code, role=role.value,
                                     password=DEMO_PASSWORD, display_name=name)
            org = identity.find_org(s, org_code)
            accounts.append({"username": username, "role_label": ROLE_LABELS[role],
                             "org_name": org.name if org else org_code})
    if with_modules:
        from citybase.modules import rooms

        for mod in rooms("demo"):  # each module's demo.py: load(console) -> None, idempotent
            if console is not None:
                console.print(f"加载演示数据：{mod.__name__.split('.')[1]}")
            mod.load(console=console)
    return accounts
