"""数据异议 lifecycle and 一数一源 conflicts."""

from __future__ import annotations

import pytest

from citybase.catalog.schemas import FieldIn
from citybase.config import get_settings
from citybase.core.audit.service import entries_for_object
from citybase.core.calendar import service as workcal
from citybase.core.errors import BadInput, IllegalTransition, PermissionDenied
from citybase.core.identity.principal import SYSTEM
from citybase.db import make_session, session_scope
from citybase.lake import service as lake
from citybase.quality import service as quality
from citybase.quality.schemas import ConflictMember, ConflictSetIn, ObjectionIn
from tests.lake.helpers import PERSONS_CSV, make_resource, principal_of, write


@pytest.fixture
def persons(city, tmp_path):
    with session_scope() as s:
        code = make_resource(s)
        lake.ingest_file(s, SYSTEM, code, write(tmp_path / "p.csv", PERSONS_CSV))
    return code


def test_objection_lifecycle_accept_then_fixed(persons, tmp_path):
    with session_scope() as s:
        o = quality.raise_objection(s, principal_of(s, "scjgj_officer"), ObjectionIn(
            resource_code=persons, scope="field", field_name="mobile", description="手机号码为空号",
            evidence="电话回访记录 2026-11"))
        raised_at = o.created_at
        assert o.status == "open" and o.version_number == 1 and o.provider_code == "320200-gaj"
        assert o.deadline == workcal.add_workdays(s, raised_at, get_settings().objection_workdays)
    with make_session() as s:
        inbox = quality.list_objections(s, principal_of(s, "gaj_officer"), box="inbox")
        assert [x.id for x in inbox] == [o.id]
        assert quality.list_objections(s, principal_of(s, "scjgj_officer"), box="inbox") == []
        assert [x.id for x in quality.list_objections(s, principal_of(s, "scjgj_officer"), box="outbox")] == [o.id]
    with session_scope() as s, pytest.raises(PermissionDenied):  # only the provider answers
        quality.answer_objection(s, principal_of(s, "scjgj_officer"), o.id, accept=True)
    with session_scope() as s, pytest.raises(PermissionDenied):  # staff may not answer
        quality.answer_objection(s, principal_of(s, "gaj_staff"), o.id, accept=True)
    with session_scope() as s:
        a = quality.answer_objection(s, principal_of(s, "gaj_officer"), o.id, accept=True, reason="下次导出前核实")
        assert a.status == "accepted"
    with session_scope() as s, pytest.raises(IllegalTransition):
        quality.answer_objection(s, principal_of(s, "gaj_officer"), o.id, accept=False, reason="改主意")
    with session_scope() as s, pytest.raises(BadInput):  # the fix must be a later version
        quality.mark_fixed(s, principal_of(s, "gaj_officer"), o.id, 1)
    with session_scope() as s:
        lake.ingest_file(s, SYSTEM, persons, write(tmp_path / "p2.csv", PERSONS_CSV))
    with session_scope() as s:
        f = quality.mark_fixed(s, principal_of(s, "gaj_officer"), o.id, 2)
        assert f.status == "fixed" and f.fixed_version == 2
    with make_session() as s:
        full = quality.get_objection(s, principal_of(s, "scjgj_officer"), o.id)
        assert [(e.action, e.from_status, e.to_status) for e in full.events] == [
            ("raise", None, "open"), ("accept", "open", "accepted"), ("fix", "accepted", "fixed")]
        assert [e.actor for e in full.events] == ["scjgj_officer", "gaj_officer", "gaj_officer"]
        actions = [e.action for e in entries_for_object(s, "objection", str(o.id))]
        assert actions == ["objection.raise", "objection.accept", "objection.fix"]


def test_objection_reject_needs_a_reason_and_rows_need_a_key(persons):
    with session_scope() as s, pytest.raises(BadInput):
        quality.raise_objection(s, principal_of(s, "scjgj_officer"), ObjectionIn(
            resource_code=persons, scope="row", description="这一行不对"))
    with session_scope() as s:
        o = quality.raise_objection(s, principal_of(s, "scjgj_officer"), ObjectionIn(
            resource_code=persons, scope="row", row_key="11010519491231002X", description="此人已迁出"))
    with session_scope() as s, pytest.raises(BadInput):
        quality.answer_objection(s, principal_of(s, "gaj_officer"), o.id, accept=False, reason="")
    with session_scope() as s:
        r = quality.answer_objection(s, principal_of(s, "gaj_officer"), o.id, accept=False,
                                     reason="迁出手续尚未办结")
        assert r.status == "rejected" and r.answer == "迁出手续尚未办结"
        assert r.row_key == "110105********002X"  # the key shown masked
    with make_session() as s:
        assert quality.list_objections(s, principal_of(s, "gaj_officer"), box="inbox", status="open") == []


def test_overdue_after_the_working_day_deadline(persons):
    from datetime import timedelta

    from citybase.quality.models import Objection

    with session_scope() as s:
        o = quality.raise_objection(s, principal_of(s, "gaj_staff"), ObjectionIn(
            resource_code=persons, description="整体数据陈旧"))
        row = s.get(Objection, o.id)
        row.deadline = row.created_at - timedelta(hours=1)
    with make_session() as s:
        assert [x.id for x in quality.overdue_objections(s)] == [o.id]
        assert quality.get_objection(s, principal_of(s, "gaj_officer"), o.id).overdue


def test_conflicts_list_and_priority_winner(city, tmp_path):
    fields = [FieldIn(name="sfzh", label="公民身份号码", element="cn_id_card", is_key=True, nullable=False),
              FieldIn(name="sj", label="手机号码", element="mobile", grading="L3")]
    with session_scope() as s:
        gaj = make_resource(s, name="户籍", fields=fields)
        rsj = make_resource(s, name="参保", fields=fields, provider_code="320200-rsj", class_code="303001")
        lake.ingest_file(s, SYSTEM, gaj, write(tmp_path / "a.csv", "sfzh,sj\n11010519491231002X,13800138000\n"
                                                                   "320281197001010012,13912345678\n"
                                                                   "320102198001010015,13700000000\n"))
        # same person with a lower-case x (normalised), one different phone, one missing phone, one unknown person
        lake.ingest_file(s, SYSTEM, rsj, write(tmp_path / "b.csv", "sfzh,sj\n11010519491231002x,13800138000\n"
                                                                   "320281197001010012,15000000000\n"
                                                                   "320102198001010015,\n"
                                                                   "320205199002020023,13600000000\n"))
    with session_scope() as s, pytest.raises(PermissionDenied):  # only the bureau sets priorities
        quality.create_conflict_set(s, principal_of(s, "gaj_officer"), ConflictSetIn(
            name="手机", members=[ConflictMember(resource_code=gaj, key_column="sfzh", value_column="sj"),
                                 ConflictMember(resource_code=rsj, key_column="sfzh", value_column="sj")]))
    with session_scope() as s:
        cs = quality.create_conflict_set(s, principal_of(s, "dsj_officer"), ConflictSetIn(
            name="手机", value_element="mobile", members=[
                ConflictMember(resource_code=rsj, key_column="sfzh", value_column="sj", priority=2),
                ConflictMember(resource_code=gaj, key_column="sfzh", value_column="sj", priority=1)]))
    with make_session() as s:
        rep = quality.find_conflicts(s, principal_of(s, "gaj_staff"), cs.id)
    assert rep.keys_compared == 2 and rep.conflicts == 1
    (row,) = rep.rows
    assert row.key == "320281********0012" and row.winner == gaj
    values = {v["resource_code"]: (v["value"], v["wins"]) for v in row.values}
    assert values == {gaj: ("139****5678", True), rsj: ("150****0000", False)}
