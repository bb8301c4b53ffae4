"""Shared set-up for the events tests: a small set of problem types (our own fixture, so the
tests do not move when the shipped list grows), a handler account at a district 城管局, and
helpers to act as a given user."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

TYPES = [
    {"code": "TGARB", "name": "暴露垃圾", "kind": "事件", "major_code": "01", "major_name": "市容环境",
     "minor_name": "暴露垃圾", "sla": {"unit": "work_hours", "sign_in": 1, "handle": 4, "warn_ratio": 0.8,
                                       "escalation": ["street", "district", "city"]}, "default_unit_key": "cgj"},
    {"code": "TROAD", "name": "道路不洁", "kind": "事件", "major_code": "01", "major_name": "市容环境",
     "minor_name": "道路不洁", "sla": {"unit": "work_hours", "sign_in": 1, "handle": 5, "warn_ratio": 0.8,
                                       "escalation": ["street", "district", "city"]}, "default_unit_key": "cgj"},
    {"code": "TCOMP", "name": "投诉", "kind": "12345", "major_code": "RX", "major_name": "12345诉求",
     "minor_name": "投诉", "sla": {"unit": "work_days", "sign_in": 1, "handle": 13, "warn_ratio": 0.8,
                                    "escalation": ["street", "district", "city"]}, "default_unit_key": "cgj"},
]

DISTRICT = "320205"  # 锡山区: the demo grid worker's first street (320205001 东亭街道) lies in it
STREET = "320205001"
HANDLER_UNIT = "320205-cgj"


def point_in(code: str = DISTRICT) -> tuple[float, float]:
    from citybase.reference import divisions

    p = divisions.district_boundaries()[code].representative_point()
    return round(p.x, 6), round(p.y, 6)


@dataclass
class Ctx:
    operator: object
    grid_worker: object
    handler: object
    other_handler: object
    admin: object


def as_user(username: str):
    from citybase.core.identity import service as identity
    from citybase.db import make_session

    with make_session() as s:
        return identity.principal_for(identity.get_user(s, username), "session")


@pytest.fixture
def ev(city) -> Ctx:
    """Problem types seeded, a 城管 handler at 锡山区 and one at 梁溪区."""
    from citybase.core.identity import service as identity
    from citybase.core.identity.principal import SYSTEM
    from citybase.db import session_scope
    from citybase.events import service

    with session_scope() as s:
        service.seed_problem_types(s, SYSTEM, TYPES)
        identity.create_user(s, SYSTEM, username="cgj_staff", org_code=HANDLER_UNIT, role="staff",
                             password=None, display_name="钱进（锡山区城管局）")
        identity.create_user(s, SYSTEM, username="lx_staff", org_code="320213-cgj", role="staff",
                             password=None, display_name="梁溪区城管局")
    return Ctx(as_user("operator"), as_user("grid_worker"), as_user("cgj_staff"), as_user("lx_staff"),
               as_user("admin"))


def new_order(principal, *, type_code: str | None = "TGARB", channel: str = "grid", point=None, now=None,
              **kw):
    from citybase.db import session_scope
    from citybase.events import service
    from citybase.events.schemas import IntakeIn

    lon, lat = point or point_in()
    data = IntakeIn(channel=channel, description=kw.pop("description", "东亭路口有一堆暴露垃圾"),
                    type_code=type_code, lon=lon, lat=lat, **kw)
    with session_scope() as s:
        return service.intake(s, principal, data, now=now).number


def act(fn, principal, number, *args, **kw):
    from citybase.db import session_scope

    with session_scope() as s:
        return fn(s, principal, number, *args, **kw)


def fetch(number: str):
    from citybase.core.identity.principal import SYSTEM
    from citybase.db import make_session
    from citybase.events import service

    with make_session() as s:
        return service.get_order(s, SYSTEM, number)
