"""Demo sharing between Wuxi departments: requests in every state (one overdue), approved grants
(one narrowed), a few audited reads, and a 梁溪区 subscription to the market-entity register (属地回流).

Runs after the catalog and lake demos; idempotent (does nothing once any request exists)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from citybase.core.identity.principal import Principal
from citybase.core.time import utcnow
from citybase.db import make_session, session_scope

PERSONS = "101001-0001"  # 市公安局 户籍人口信息 (有条件共享)
ENTERPRISES = "102001-0001"  # 市市场监管局 市场主体登记信息 (无条件共享)
INSURED = "303001-0001"  # 市人社局 社会保险参保人员信息 (有条件共享)


def _who(org: str, role: str = "data_officer") -> Principal:
    from citybase.core.identity import service as identity

    with make_session() as s:
        users = identity.users_in_org(s, org, role)
        if users:
            return identity.principal_for(users[0], "session")
        name = identity.get_org(s, org).name
    return Principal(username=f"demo.{org}", role=role, org_code=org, org_name=name, via="session",
                     display_name=f"{name}（演示）")


def load(console: Any = None) -> None:
    from citybase.catalog import service as catalog
    from citybase.exchange import service
    from citybase.exchange.schemas import ApproveIn, RejectIn, RequestIn, SubscribeIn
    from citybase.exchange.service import run_deliveries
    from citybase.lake import service as lake

    with make_session() as s:
        if service.has_requests(s):
            return
        ready = [c for c in (PERSONS, ENTERPRISES, INSURED)
                 if catalog.find_resource(s, c) is not None and lake.current_version(s, c) is not None]
    if PERSONS not in ready or INSURED not in ready:
        if console is not None:
            console.print("  共享交换：演示资源或数据缺失，跳过")
        return
    city = "320200"
    gaj, rsj, scjgj = _who(f"{city}-gaj"), _who(f"{city}-rsj"), _who(f"{city}-scjgj")
    mzj, zjj, ybj = _who(f"{city}-mzj"), _who(f"{city}-zjj"), _who(f"{city}-ybj")
    now = utcnow()

    def ask(p: Principal, code: str, fields: list[str], purpose: str, basis: str, *, days_ago: int = 0,
            row_filter: list[dict] | None = None, clear: list[str] | None = None) -> int:
        with session_scope() as s:
            return service.create_request(s, p, RequestIn(
                resource_code=code, fields=fields, clear_fields=clear or [], row_filter=row_filter or [],
                purpose=purpose, legal_basis=basis, period_days=365), now=now - timedelta(days=days_ago)).id

    # approved, narrowed: 人社 asks for ID numbers in clear, 公安 grants names/gender/district, masked
    a = ask(rsj, PERSONS, ["gmsfhm", "xm", "xb", "csrq", "hjdqh"], "养老保险待遇领取资格认证",
            "《社会保险法》第八条、《社会保险经办条例》", days_ago=6, clear=["gmsfhm"])
    with session_scope() as s:
        g1 = service.approve(s, gaj, a, ApproveIn(fields=["gmsfhm", "xm", "xb", "hjdqh"], clear_fields=[],
                                                  rate_limit_per_minute=120, comment="身份证号仅以脱敏形式提供"),
                             now=now - timedelta(days=2))
    # approved as asked: 医保 reads 人社 insured persons of 梁溪区 only
    b = ask(ybj, INSURED, ["xm", "xzlx", "cbzt", "cbrq"], "医保参保状态比对", "《医疗保障基金使用监督管理条例》",
            days_ago=4)
    with session_scope() as s:
        service.approve(s, rsj, b, ApproveIn(), now=now - timedelta(days=1))
    # rejected with a reason
    c = ask(zjj, INSURED, ["xm", "lxdh", "jfjs"], "住房公积金缴存核对", "内部管理需要", days_ago=3)
    with session_scope() as s:
        service.reject(s, rsj, c, RejectIn(reason="缴费基数属 L3 较敏感信息，所述用途无法律法规依据，请补充依据后重新申请"),
                       now=now - timedelta(days=1))
    # pending, inside the deadline
    ask(scjgj, PERSONS, ["xm", "xb", "hjdqh"], "个体工商户经营者身份核验", "《市场主体登记管理条例》第十九条",
        days_ago=1)
    # pending and overdue: flagged to the bureau
    ask(mzj, PERSONS, ["xm", "hjdz", "hjdqh"], "最低生活保障家庭户籍核对", "《社会救助暂行办法》第十一条",
        days_ago=24)
    with session_scope() as s:
        service.flag_overdue(s)
    # withdrawn
    w = ask(zjj, PERSONS, ["xm"], "房屋租赁登记备案核验", "《商品房屋租赁管理办法》", days_ago=2)
    with session_scope() as s:
        service.withdraw(s, zjj, w)
    # a few audited reads so the access log and the overview have something to show
    for p, code, gid in ((rsj, PERSONS, g1.id), (rsj, PERSONS, g1.id), (gaj, ENTERPRISES, None),
                         (zjj, ENTERPRISES, None)):
        if code in ready:
            with session_scope() as s:
                service.query(s, p, code, grant_id=gid, size=20)
    # 属地回流: 梁溪区市场监管局 subscribes to the city's market entities
    if ENTERPRISES in ready:
        with session_scope() as s:
            service.subscribe(s, _who("320213-scjgj"), SubscribeIn(resource_code=ENTERPRISES))
        run_deliveries()
    if console is not None:
        console.print("  共享交换：6 个共享申请（含超期 1 个）、2 项授权、1 个属地回流订阅")
