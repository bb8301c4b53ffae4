"""The work-order flow: every transition, legal and illegal, with role checks, timeline and ledger."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from citybase.core.errors import BadInput, Conflict, IllegalTransition, PermissionDenied, TooLarge
from citybase.events import service
from citybase.events.schemas import PhotoIn
from tests.events.conftest import HANDLER_UNIT, STREET, act, fetch, new_order


def png_bytes(size=(40, 30)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(buf, format="PNG")
    return buf.getvalue()


def ledger_actions(number: str) -> list[str]:
    from citybase.core.audit.models import AuditEntry
    from citybase.db import make_session

    with make_session() as s:
        return list(s.execute(select(AuditEntry.action).where(AuditEntry.object_id == number)
                              .order_by(AuditEntry.seq)).scalars())


def to_dispatched(ev) -> str:
    number = new_order(ev.grid_worker)
    act(service.triage, ev.operator, number)
    act(service.dispatch, ev.operator, number)
    return number


def to_verifying(ev) -> str:
    number = to_dispatched(ev)
    act(service.sign, ev.handler, number)
    act(service.start, ev.handler, number)
    act(service.feedback, ev.handler, number, "已清运完毕")
    return number


def test_full_loop_from_grid_report_to_archive(ev):
    number = new_order(ev.grid_worker)
    o = fetch(number)
    assert o.status == "received" and o.street_code == STREET and o.district_code == "320205"
    act(service.triage, ev.operator, number)
    act(service.dispatch, ev.operator, number)
    o = fetch(number)
    assert o.status == "dispatched" and o.main_unit == HANDLER_UNIT  # 属地: the district's 城管局
    assert o.sign_due_at is not None and o.handle_due_at > o.sign_due_at
    act(service.sign, ev.handler, number)
    act(service.start, ev.handler, number)
    act(service.feedback, ev.handler, number, "已清运完毕", [PhotoIn(filename="after.png", content=png_bytes())])
    assert fetch(number).status == "verifying"
    act(service.verify, ev.grid_worker, number, True, "现场已清理干净")
    assert fetch(number).status == "callback"
    act(service.callback, ev.operator, number, "satisfied", "市民表示满意")
    o = fetch(number)
    assert o.status == "closed" and o.satisfaction == "satisfied" and o.closed_at is not None
    assert len(o.photos) == 1
    act(service.archive, ev.operator, number)
    o = fetch(number)
    assert o.status == "archived"
    actions = [e.action for e in o.timeline]
    assert actions == ["intake", "triage", "dispatch", "sign", "start", "feedback", "verify_pass",
                       "callback_satisfied", "archive"]
    assert [e.to_status for e in o.timeline][-1] == "archived"
    assert ledger_actions(number) == ["events." + a for a in actions]


@pytest.mark.parametrize("step,fn,args,who", [
    ("received", service.sign, (), "handler"),
    ("received", service.feedback, ("x",), "handler"),
    ("received", service.archive, (), "operator"),
    ("dispatched", service.start, (), "handler"),
    ("dispatched", service.feedback, ("done",), "handler"),
    ("dispatched", service.reject, ("不属于受理范围",), "operator"),
    ("dispatched", service.answer, ("已答复",), "operator"),
    ("verifying", service.callback, ("satisfied",), "operator"),
    ("verifying", service.sign, (), "handler"),
    ("verifying", service.dispatch, (), "operator"),
])
def test_illegal_transitions_are_clear_errors(ev, step, fn, args, who):
    number = new_order(ev.grid_worker) if step == "received" else (
        to_dispatched(ev) if step == "dispatched" else to_verifying(ev))
    before = fetch(number)
    with pytest.raises((IllegalTransition, Conflict)) as err:
        act(fn, getattr(ev, who), number, *args)
    assert err.value.status_code == 409
    assert "当前状态" in err.value.message or "签收" in err.value.message
    after = fetch(number)
    assert after.status == before.status and len(after.timeline) == len(before.timeline)


def test_second_sign_in_is_a_conflict(ev):
    number = to_dispatched(ev)
    act(service.sign, ev.handler, number)
    with pytest.raises(Conflict) as err:
        act(service.sign, ev.handler, number)
    assert err.value.code == "already_signed" and err.value.status_code == 409
    assert "不能重复签收" in err.value.message


def test_roles_and_units_are_checked(ev):
    number = to_dispatched(ev)
    with pytest.raises(PermissionDenied) as err:
        act(service.sign, ev.other_handler, number)  # another district's 城管局
    assert err.value.code == "not_assigned_unit"
    with pytest.raises(PermissionDenied):
        act(service.sign, ev.operator, number)
    with pytest.raises(PermissionDenied):
        act(service.dispatch, ev.grid_worker, number)
    number2 = to_verifying(ev)
    with pytest.raises(PermissionDenied):
        act(service.verify, ev.handler, number2, True)
    with pytest.raises(PermissionDenied):
        act(service.callback, ev.handler, number2, "satisfied")


def test_return_needs_a_reason_goes_back_to_dispatch_and_is_counted(ev):
    number = to_dispatched(ev)
    with pytest.raises(BadInput) as err:
        act(service.return_order, ev.handler, number, "  ")
    assert err.value.code == "missing_reason"
    assert fetch(number).status == "dispatched"
    act(service.return_order, ev.handler, number, "该路段属梁溪区管辖")
    o = fetch(number)
    assert o.status == "triaged" and o.return_count == 1 and o.main_unit is None
    act(service.dispatch, ev.operator, number, "320213-cgj")
    assert fetch(number).main_unit == "320213-cgj"
    act(service.sign, ev.other_handler, number)
    assert fetch(number).status == "signed"


def test_rework_and_reopen_and_unreachable(ev):
    number = to_verifying(ev)
    with pytest.raises(BadInput):
        act(service.verify, ev.grid_worker, number, False, "")
    act(service.verify, ev.grid_worker, number, False, "垃圾仍有残留")
    o = fetch(number)
    assert o.status == "in_progress" and o.rework_count == 1
    act(service.feedback, ev.handler, number, "已彻底清理")
    act(service.verify, ev.grid_worker, number, True)
    act(service.callback, ev.operator, number, "unsatisfied", "市民认为处理太慢")
    o = fetch(number)
    assert o.status == "reopened" and o.satisfaction == "unsatisfied"
    act(service.dispatch, ev.operator, number)
    act(service.sign, ev.handler, number)
    act(service.start, ev.handler, number)
    act(service.feedback, ev.handler, number, "重新处理")
    act(service.verify, ev.grid_worker, number, True)
    for _ in range(2):
        act(service.callback, ev.operator, number, "unreachable")
        assert fetch(number).status == "callback"
    act(service.callback, ev.operator, number, "unreachable")
    o = fetch(number)
    assert o.status == "closed" and o.satisfaction == "unreachable"


def test_reject_merge_answer_at_intake(ev):
    a = new_order(ev.grid_worker)
    b = new_order(ev.grid_worker)
    c = new_order(ev.operator, channel="hotline", type_code=None, description="咨询垃圾分类时间")
    d = new_order(ev.operator, channel="hotline", type_code=None, description="测试来电")
    with pytest.raises(BadInput):
        act(service.reject, ev.operator, d, "")
    act(service.reject, ev.operator, d, "无效来电")
    act(service.merge, ev.operator, b, a)
    act(service.answer, ev.operator, c, "每天 7:00–9:00、18:00–20:00 投放")
    assert fetch(d).status == "rejected"
    assert fetch(b).status == "merged" and fetch(b).master_number == a
    assert fetch(c).status == "answered"
    assert any(e.action == "merge" for e in fetch(a).timeline)
    with pytest.raises(IllegalTransition):
        act(service.triage, ev.operator, d)


def test_extension_only_before_due_and_suspend_resume(ev):
    t0 = datetime(2025, 11, 17, 1, 0, tzinfo=UTC)  # Monday 09:00 in Wuxi
    number = new_order(ev.grid_worker, now=t0)
    act(service.triage, ev.operator, number)
    act(service.dispatch, ev.operator, number, now=t0)
    act(service.sign, ev.handler, number, now=t0 + timedelta(minutes=10))
    act(service.start, ev.handler, number)
    due = fetch(number).handle_due_at
    assert due == datetime(2025, 11, 17, 6, 30, tzinfo=UTC)  # 09:00 + 4 work hours = 14:30 local
    act(service.request_extension, ev.handler, number, 2, "需协调环卫车辆", now=t0 + timedelta(hours=1))
    act(service.decide_extension, ev.operator, number, True, now=t0 + timedelta(hours=1, minutes=5))
    o = fetch(number)
    assert o.handle_due_at == datetime(2025, 11, 17, 8, 30, tzinfo=UTC) and o.pending_extension is None
    with pytest.raises(IllegalTransition) as err:
        act(service.request_extension, ev.handler, number, 2, "再延", now=o.handle_due_at + timedelta(minutes=1))
    assert err.value.code == "extension_too_late"
    act(service.suspend, ev.operator, number, "等待产权单位确认", now=t0 + timedelta(hours=2))
    assert fetch(number).status == "suspended"
    with pytest.raises(IllegalTransition):
        act(service.feedback, ev.handler, number, "x")
    act(service.resume, ev.operator, number, now=t0 + timedelta(hours=5))
    o = fetch(number)
    assert o.status == "in_progress" and o.handle_due_at == datetime(2025, 11, 17, 11, 30, tzinfo=UTC)


def test_sla_edits_apply_to_new_orders_only(ev):
    from citybase.db import session_scope
    from citybase.events.schemas import ProblemTypeIn

    old = new_order(ev.grid_worker)
    with session_scope() as s:
        service.save_problem_type(s, ev.admin, ProblemTypeIn(code="TGARB", name="暴露垃圾", kind="事件",
                                                             sign_in=0.5, handle=2))
    with pytest.raises(PermissionDenied), session_scope() as s:
        service.save_problem_type(s, ev.operator, ProblemTypeIn(code="TGARB", name="x", kind="事件",
                                                                sign_in=1, handle=1))
    new = new_order(ev.grid_worker)
    assert fetch(old).sla["handle"] == 4
    assert fetch(new).sla["handle"] == 2 and fetch(new).sla["sign_in"] == 0.5


def test_photos_are_checked_and_nothing_half_written(ev):
    from citybase.db import make_session
    from citybase.events.models import WorkOrder

    with make_session() as s:
        n0 = s.execute(select(func.count()).select_from(WorkOrder)).scalar_one()
    with pytest.raises(BadInput) as err:
        new_order(ev.grid_worker, photos=[PhotoIn(filename="x.jpg", content=b"not an image at all")])
    assert err.value.code == "not_an_image"
    with pytest.raises(TooLarge):
        new_order(ev.grid_worker, photos=[PhotoIn(filename="x.png", content=png_bytes() + b"\0" * (6 << 20))])
    with make_session() as s:
        assert s.execute(select(func.count()).select_from(WorkOrder)).scalar_one() == n0
    number = new_order(ev.grid_worker, photos=[PhotoIn(filename="a.png", content=png_bytes())])
    assert len(fetch(number).photos) == 1


def test_points_outside_the_city_are_refused(ev):
    with pytest.raises(BadInput) as err:
        new_order(ev.grid_worker, point=(116.39, 39.91))  # Beijing
    assert err.value.code == "outside_city"


def test_reporter_phone_is_masked_and_reveal_is_audited(ev):
    from citybase.db import make_session

    number = new_order(ev.operator, channel="hotline", reporter_name="张三丰", reporter_phone="13812345678")
    o = fetch(number)
    assert o.reporter_phone == "138****5678" and o.reporter_name == "张**"
    with pytest.raises(PermissionDenied):
        act(service.reveal_phone, ev.grid_worker, number)
    assert act(service.reveal_phone, ev.operator, number) == "13812345678"
    assert "events.reveal_phone" in ledger_actions(number)
    with make_session() as s:
        assert "13812345678" not in service.get_order(s, ev.operator, number).model_dump_json()


def test_read_scope_a_unit_sees_its_orders(ev):
    from citybase.db import make_session

    number = to_dispatched(ev)
    with make_session() as s:
        assert service.get_order(s, ev.handler, number).number == number
        with pytest.raises(PermissionDenied):
            service.get_order(s, ev.other_handler, number)
        page = service.list_orders(s, ev.other_handler)
        assert number not in [o.number for o in page.items]
        assert number in [o.number for o in service.list_orders(s, ev.handler).items]
