"""Quality demo: a 一数一源 rule (mobile from 公安 vs 人社), explicit rules (referential, range)
and objections in every state, on top of the lake demo's data. Idempotent."""

from __future__ import annotations

from typing import Any

from citybase.core.identity.principal import SYSTEM
from citybase.db import make_session, session_scope


def _principal(s: Any, username: str) -> Any:
    from citybase.core.identity import service as identity

    try:
        return identity.principal_for(identity.get_user(s, username), "session")
    except Exception:  # noqa: BLE001 - demo accounts may be missing in a trimmed setup
        return None


def load(console: Any = None) -> None:
    from citybase.catalog import service as catalog
    from citybase.lake import service as lake
    from citybase.lake.demo import ENTERPRISES, INSURED, PERSONS, WATER
    from citybase.quality import service
    from citybase.quality.schemas import ConflictMember, ConflictSetIn, ObjectionIn, RuleIn

    with make_session() as s:
        have = {c for c in (PERSONS, ENTERPRISES, INSURED, WATER) if lake.current_version(s, c) is not None}
        if not have or service.list_conflict_sets(s):
            return
    with session_scope() as s:
        if {PERSONS, INSURED} <= have:
            service.create_conflict_set(s, SYSTEM, ConflictSetIn(
                name="居民手机号码（公安户籍 vs 人社参保）", key_label="公民身份号码", key_element="cn_id_card",
                value_element="mobile", members=[
                    ConflictMember(resource_code=PERSONS, key_column="gmsfhm", value_column="lxdh", priority=1),
                    ConflictMember(resource_code=INSURED, key_column="gmsfhm", value_column="lxdh", priority=2)]))
        if {INSURED, ENTERPRISES} <= have:
            service.add_rule(s, SYSTEM, INSURED, RuleIn(
                rule_type="referential", columns=["dwtyshxydm"],
                params={"resource_code": ENTERPRISES, "ref_column": "tyshxydm"},
                label="参保单位须在市场主体登记中存在"))
            service.evaluate(s, INSURED)
        if WATER in have:
            service.add_rule(s, SYSTEM, WATER, RuleIn(rule_type="between", columns=["ph"],
                                                       params={"min_value": 0, "max_value": 14},
                                                       label="pH 须在 0–14 之间"))
            service.add_rule(s, SYSTEM, WATER, RuleIn(rule_type="not_null", columns=["rjy"]))
            service.evaluate(s, WATER)
        if ENTERPRISES in have:
            service.add_rule(s, SYSTEM, ENTERPRISES, RuleIn(rule_type="length", columns=["qymc"],
                                                             params={"min_value": 4, "max_value": 60}))
            service.evaluate(s, ENTERPRISES)
    with session_scope() as s:
        staff = _principal(s, "scjgj_officer") or SYSTEM
        gaj = _principal(s, "gaj_officer") or SYSTEM
        if PERSONS in have:
            o1 = service.raise_objection(s, staff, ObjectionIn(
                resource_code=PERSONS, scope="field", field_name="lxdh",
                description="核验企业法定代表人时发现部分联系电话为空号或位数不足",
                evidence="市场监管局 2026 年 11 月电话回访记录：抽查 50 人，7 人号码无效"))
            service.answer_objection(s, gaj, o1.id, accept=True, reason="已通知各派出所在下次导出前核实更正")
            service.raise_objection(s, staff, ObjectionIn(
                resource_code=PERSONS, scope="resource",
                description="户籍人口数据中存在 15 位旧身份证号码，无法与本局法人库比对",
                evidence="比对日志：约 1% 记录为 15 位号码"))
        if ENTERPRISES in have:
            o3 = service.raise_objection(s, gaj, ObjectionIn(
                resource_code=ENTERPRISES, scope="field", field_name="djzt",
                description="部分已注销企业登记状态仍为“存续”", evidence="公安机关办案中核实的 3 家企业"))
            service.answer_objection(s, staff, o3.id, accept=False,
                                     reason="经核查 3 家企业注销登记尚未办结，登记状态正确")
    if console is not None:
        with make_session() as s:
            n = len(catalog.list_resources(s))
        console.print(f"  数据治理：一数一源规则、自定义质量规则和数据异议已就绪（目录共 {n} 个资源）")
