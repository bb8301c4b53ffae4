"""Deadlines on the working-day calendar (调休), 属地回流 subscriptions, the bureau overview, pages."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from citybase.db import make_session, session_scope
from citybase.exchange import service
from citybase.exchange.schemas import ApproveIn, RejectIn, RequestIn, SubscribeIn
from tests.conftest import csrf_of, login
from tests.exchange.conftest import COND, FREE, N, ingest, person_rows, principal_of

CST = ZoneInfo("Asia/Shanghai")


def _request(code: str = COND, *, now: datetime | None = None, username: str = "rsj_officer") -> int:
    with session_scope() as s:
        return service.create_request(s, principal_of(username), RequestIn(
            resource_code=code, purpose="养老保险待遇资格认证", legal_basis="《社会保险法》"), now=now).id


@pytest.mark.parametrize(("submitted", "due", "naive_due"), [
    # 国庆 2024: 10-01..07 off; Sun 09-29 and Sat 10-12 are 调休 working days
    (datetime(2024, 9, 27, 10, 0, tzinfo=CST), date(2024, 10, 16), date(2024, 10, 11)),
    # 春节 2025: 01-28..02-04 off; Sun 01-26 and Sat 02-08 are 调休 working days
    (datetime(2025, 1, 24, 16, 30, tzinfo=CST), date(2025, 2, 13), date(2025, 2, 7)),
])
def test_overdue_detection_across_tiaoxiu(shared, submitted, due, naive_due):
    rid = _request(now=submitted)
    with make_session() as s:
        r = service.get_request(s, principal_of("rsj_officer"), rid)
    assert r.due_date == due.isoformat() and due != naive_due
    # the evening of the last working day: not overdue yet
    evening = datetime.combine(due, datetime.min.time(), CST).replace(hour=21)
    with session_scope() as s:
        assert service.flag_overdue(s, now=evening) == []
        assert service.list_requests(s, principal_of("dsj_officer"), box="all", status="overdue", now=evening) == []
    # the next morning: flagged once, the bureau notified, the overview counts it
    morning = datetime.combine(due, datetime.min.time(), CST).replace(hour=9) + (
        datetime(2000, 1, 2) - datetime(2000, 1, 1))
    with session_scope() as s:
        assert service.flag_overdue(s, now=morning) == [rid]
        assert service.flag_overdue(s, now=morning) == []
    with make_session() as s:
        notes = service.notifications(s, principal_of("dsj_officer"))
        assert any("超期" in n.title and str(rid) in n.link for n in notes)
        o = service.overview(s, principal_of("dsj_officer"), now=morning)
        assert o["overdue"] == 1 and o["response_rate"] == 0.0
        assert [x["id"] for x in o["overdue_requests"]] == [rid]


def test_answer_in_time_counts_for_the_response_rate(shared):
    submitted = datetime(2024, 9, 27, 10, 0, tzinfo=CST)
    a = _request(COND, now=submitted)
    b = _request(FREE, now=submitted, username="gaj_officer")
    with session_scope() as s:  # answered on the last working day (a Wednesday after 国庆)
        service.approve(s, principal_of("gaj_officer"), a, ApproveIn(), now=datetime(2024, 10, 16, 17, 0, tzinfo=CST))
        # answered late
        service.reject(s, principal_of("scjgj_officer"), b, RejectIn(reason="无条件共享资源，无需申请"),
                       now=datetime(2024, 10, 17, 9, 0, tzinfo=CST))
    with make_session() as s:
        o = service.overview(s, principal_of("dsj_officer"), now=datetime(2024, 10, 18, tzinfo=CST))
    assert o["by_state"]["approved"] == 1 and o["by_state"]["rejected"] == 1
    assert o["answered_in_time"] == 1 and o["answered_late"] == 1 and o["response_rate"] == 50.0


def test_overview_is_for_the_bureau_only(shared):
    from citybase.core.errors import PermissionDenied

    for username in ("gaj_officer", "rsj_staff"):
        with make_session() as s, pytest.raises(PermissionDenied):
            service.overview(s, principal_of(username))


def test_district_subscription_delivers_filtered_versions(shared):
    from citybase.catalog import service as catalog
    from citybase.exchange.service import run_deliveries
    from citybase.lake import service as lake

    lx = principal_of("lx_cgj")  # 梁溪区城市管理局 (division 320213)
    with session_scope() as s:
        sub = service.subscribe(s, lx, SubscribeIn(resource_code=FREE))
    assert sub.district_code == "320213" and sub.filter_field == "xzqh" and sub.target_code
    target = sub.target_code
    assert list(run_deliveries().values()) == ["done"]

    def copy() -> pa.Table:
        import duckdb

        with make_session() as s:
            v = lake.current_version(s, target)
        return duckdb.sql(f"SELECT * FROM read_parquet('{lake.parquet_glob(v)}')").to_arrow_table()

    t1 = copy()
    assert t1.num_rows == N // 3 and set(t1.column("xzqh").to_pylist()) == {"320213"}
    assert all("*" in v for v in t1.column("sfzh").to_pylist())  # masked as the department may read it
    with make_session() as s:
        res = catalog.get_resource(s, target)
        assert res.provider_code == "320213-cgj" and res.related_codes == [FREE]
        notes = service.notifications(s, lx)
        assert any("属地回流已送达" in n.title for n in notes)

    # a new version of the city resource is delivered, filtered again
    ingest(FREE, person_rows(90))
    with make_session() as s:
        assert len(service.pending_deliveries(s)) == 1
    assert list(run_deliveries().values()) == ["done"]
    t2 = copy()
    assert t2.num_rows == 30 and set(t2.column("xzqh").to_pylist()) == {"320213"}
    with make_session() as s:
        assert lake.current_version(s, target).number == 2
        subs = service.list_subscriptions(s, lx)
        assert subs[0].last_version == 2
        # the provider's access log shows the delivery
        log = service.access_log(s, principal_of("scjgj_officer"), FREE)
        assert [a.channel for a in log] == ["subscription", "subscription"]
        assert [a.row_count for a in log] == [30, 10]


def test_subscription_follows_the_grant(shared):
    from citybase.core.errors import BadInput, PermissionDenied
    from citybase.exchange.service import run_deliveries

    lx = principal_of("lx_cgj")
    with session_scope() as s, pytest.raises(PermissionDenied):
        service.subscribe(s, lx, SubscribeIn(resource_code=COND))  # 有条件: no grant yet
    with session_scope() as s, pytest.raises(BadInput) as exc:  # a city department has no district
        service.subscribe(s, principal_of("rsj_officer"), SubscribeIn(resource_code=FREE))
    assert exc.value.code == "not_district_org"
    with session_scope() as s:
        r = service.create_request(s, lx, RequestIn(resource_code=COND, fields=["xm", "nl", "xzqh"],
                                                    purpose="辖区人口管理", legal_basis="职责"))
    with session_scope() as s:
        service.approve(s, principal_of("gaj_officer"), r.id, ApproveIn())
    with session_scope() as s:
        sub = service.subscribe(s, lx, SubscribeIn(resource_code=COND))
    run_deliveries()
    from citybase.catalog import service as catalog

    with make_session() as s:
        res = catalog.get_resource(s, sub.target_code)
    assert [f.name for f in res.fields] == ["xm", "nl", "xzqh"]


def test_pages_render(shared_client):
    _request()
    c = login(shared_client, "rsj_officer")
    for url in ("/exchange", "/exchange/grants", "/exchange/subscriptions", "/exchange/notifications",
                f"/exchange/request?resource={COND}", f"/exchange/data/{FREE}", "/exchange/requests/1"):
        r = c.get(url)
        assert r.status_code == 200, (url, r.text[:300])
    assert "户籍人口（测试）" in c.get("/exchange").text
    assert c.get("/exchange/overview").status_code == 403
    c.post("/logout", data={"csrf_token": csrf_of(c)})
    login(c, "dsj_officer")
    r = c.get("/exchange/overview")
    assert r.status_code == 200 and "公共数据按需共享率" in r.text
    c2 = login(shared_client, "gaj_officer")
    r = c2.get("/exchange/inbox")
    assert r.status_code == 200 and "剩 10 个工作日" in r.text
    detail = c2.get(f"/catalog/r/{COND}")
    assert "访问记录" in detail.text
