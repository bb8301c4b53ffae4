"""开放平台 demo: data for two more 无条件开放 resources, ratings, comments, demands with answers, an
approved application and usage counts — on the catalogue and lake demo resources (idempotent)."""

from __future__ import annotations

import random
from typing import Any

import pyarrow as pa
from sqlalchemy import func, select

from citybase.catalog import service as catalog
from citybase.core.identity.principal import SYSTEM, Principal
from citybase.db import session_scope
from citybase.lake import service as lake
from citybase.opendata.models import Comment, Demand, Usage
from citybase.opendata.service import community, usage
from citybase.opendata.service.public import listed_resources

BUS = "310001-0001"
SCHOOLS = "312001-0001"
STOPS = ["火车站", "三阳广场", "南禅寺", "清名桥", "梁溪大桥", "蠡湖大道", "太湖广场", "无锡博物院", "市民中心", "新区管委会",
         "鸿山", "东林书院", "惠山古镇", "锡惠公园", "荣巷", "鼋头渚", "长广溪", "江南大学", "万达广场", "硕放机场"]
DISTRICTS = ["320213", "320211", "320206", "320205", "320214"]


def _user(s: Any, username: str, role: str, org: str) -> Principal:
    """The demo account's principal when it exists (its real name and organisation), else a stand-in."""
    from citybase.core.identity import service as identity

    user = identity.find_user(s, username)
    if user is not None:
        return identity.principal_for(user, "session")
    return Principal(username=username, role=role, org_code=org, via="session", display_name="演示用户",
                     org_name="")


def _ingest(code: str, table: pa.Table, label: str, console: Any) -> None:
    with session_scope() as s:
        if catalog.find_resource(s, code) is None or lake.current_version(s, code) is not None:
            return
        v = lake.ingest_table(s, SYSTEM, code, table, source_label=label)
    if console:
        console.print(f"  开放平台：{code} 第 {v.number} 版 {v.row_count} 行（{label}）")


def _bus(rng: random.Random) -> pa.Table:
    rows: dict[str, list[Any]] = {k: [] for k in ("xlbh", "zx", "xlmc", "zdmc", "jd", "wd", "sfkt")}
    for line in range(1, 31):
        stops = rng.sample(STOPS, rng.randint(8, 14))
        for i, stop in enumerate(stops, 1):
            rows["xlbh"].append(f"WX{line:03d}")
            rows["zx"].append(i)
            rows["xlmc"].append(f"{line}路")
            rows["zdmc"].append(stop)
            rows["jd"].append(round(120.2 + rng.random() * 0.4, 6))
            rows["wd"].append(round(31.45 + rng.random() * 0.2, 6))
            rows["sfkt"].append(rng.random() > 0.1)
    return pa.table(rows)


def _schools(rng: random.Random) -> pa.Table:
    kinds = ["幼儿园", "小学", "初级中学", "九年一贯制学校", "高级中学"]
    rows: dict[str, list[Any]] = {k: [] for k in ("xxbsm", "xxmc", "bxlx", "xxdz", "lxdh", "xzqh", "yzbm")}
    for i in range(1, 121):
        kind = rng.choice(kinds)
        rows["xxbsm"].append(f"21320200{i:05d}")
        rows["xxmc"].append(f"无锡市第{i}{'幼儿园' if kind == '幼儿园' else '中学' if '中学' in kind else '实验小学'}")
        rows["bxlx"].append(kind)
        rows["xxdz"].append(f"无锡市{rng.choice(['学前街', '解放西路', '人民中路', '清扬路', '震泽路'])}{rng.randint(1, 300)}号")
        rows["lxdh"].append(f"0510-8{rng.randint(1000000, 9999999)}")
        rows["xzqh"].append(rng.choice(DISTRICTS))
        rows["yzbm"].append(rng.choice(["214000", "214001", "214026", "214101"]))
    return pa.table(rows)


def load(console: Any = None) -> None:
    rng = random.Random(404)
    _ingest(BUS, _bus(rng), "交通运输局公交线路台账 2026-11", console)
    _ingest(SCHOOLS, _schools(rng), "教育局学校名录 2026", console)
    with session_scope() as s:
        if s.execute(select(func.count()).select_from(Comment)).scalar_one() or \
                s.execute(select(func.count()).select_from(Demand)).scalar_one():
            return
        listed = {r.code: r for r in listed_resources(s)}
        if not listed:
            return
        staff = _user(s, "gaj_staff", "staff", "320200-gaj")
        officer = _user(s, "scjgj_officer", "data_officer", "320200-scjgj")
        bureau = _user(s, "dsj_officer", "data_officer", "320200-dsj")
        for code in listed:
            for n in range(rng.randint(1, 4)):
                community.rate(s, _user(s, f"demo_rater{n}", "staff", "320200-gaj"), code, rng.randint(3, 5))
        samples = {"202001-0001": "数据更新很及时，做了一个太湖水质的小程序。", BUS: "希望增加到站时间和首末班车时间。",
                   SCHOOLS: "学区划分信息如果能一起开放就更好了。"}
        for code, text in samples.items():
            if code in listed:
                community.comment(s, staff, code, text)
        d1 = community.create_demand(s, SYSTEM, "全市公共停车场泊位实时数据",
                                     "希望开放公共停车场位置、总泊位和实时空余泊位，用于开发停车导航应用。")
        community.route_demand(s, bureau, d1.id, "320200-jtysj" if _org_exists(s, "320200-jtysj") else "320200-dsj")
        d2 = community.create_demand(s, SYSTEM, "企业登记信息批量下载",
                                     "做行业研究需要全市企业名称、类型、成立日期和登记状态，按月更新即可。")
        community.route_demand(s, bureau, d2.id, "320200-scjgj")
        answer_as = _user(s, "scjgj_officer", "data_officer", "320200-scjgj")
        community.answer_demand(s, answer_as, d2.id, "市场主体登记信息已按“有条件开放”发布，登录后在数据集页面提交申请即可获取（法定代表人身份信息不开放）。",
                                "102001-0001" if "102001-0001" in listed else None)
        community.create_demand(s, SYSTEM, "历年空气质量小时数据", "希望开放各国控站点的 AQI、PM2.5 小时数据，用于环境课题研究。")
        if "102001-0001" in listed:
            app = community.apply(s, staff, "102001-0001", "开发企业信用查询小工具，仅用于内部测试和学习。")
            community.decide(s, officer, app.id, True, "同意，按开放条件使用")
        if not s.execute(select(func.count()).select_from(Usage)).scalar_one():
            for code in listed:
                usage.count(s, code, "view", rng.randint(20, 400))
                usage.count(s, code, "download", rng.randint(2, 80))
                usage.count(s, code, "api", rng.randint(0, 1500))
    if console:
        console.print("  开放平台：评分、评论、数据需求和使用统计已生成")


def _org_exists(session: Any, code: str) -> bool:
    from citybase.core.errors import NotFound
    from citybase.core.identity import service as identity

    try:
        identity.get_org(session, code)
        return True
    except NotFound:
        return False
