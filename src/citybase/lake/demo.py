"""Demo data in the lake: generated Wuxi people and legal entities with a known share of realistic
defects (wrong check characters, duplicates, birth dates that disagree with the ID, malformed
mobiles, blank names, lower-case codes …), so the quality pages show real findings.

Idempotent: a resource that already has a current version is left alone."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

import pyarrow as pa

from citybase.core.identity.principal import SYSTEM
from citybase.db import make_session, session_scope

PERSONS = "101001-0001"  # 市公安局 户籍人口信息
ENTERPRISES = "102001-0001"  # 市市场监管局 市场主体登记信息
INSURED = "303001-0001"  # 市人社局 社会保险参保人员信息
WATER = "202001-0001"  # 市生态环境局 地表水水质自动监测数据

N_PERSONS = 3000
N_ENTERPRISES = 1500
N_INSURED = 1200

_QYLX = {"企业": "有限责任公司", "个体工商户": "个体工商户", "农民专业合作社": "农民专业合作社"}


def _needs_data(code: str) -> bool:
    from citybase.catalog import service as catalog
    from citybase.lake import service

    with make_session() as s:
        return catalog.find_resource(s, code) is not None and service.current_version(s, code) is None


def _ingest(code: str, columns: dict[str, list[Any]], label: str, console: Any) -> None:
    from citybase.lake import service

    with session_scope() as s:
        v = service.ingest_table(s, SYSTEM, code, pa.table(columns), source_label=label)
    if console is not None:
        console.print(f"  数据湖：{code} 第 {v.number} 版 {v.row_count} 行（{label}）")


def _persons_columns(rows: list[dict[str, Any]], rng: random.Random) -> dict[str, list[Any]]:
    return {
        "公民身份号码": [r["id_number"] for r in rows], "姓名": [r["name"] for r in rows],
        "性别": [r["gender"] for r in rows], "出生日期": [r["birth_date"] for r in rows],
        "民族": [rng.choices(["汉族", "回族", "满族", "蒙古族"], [97, 1, 1, 1])[0] for _ in rows],
        "户籍地址": [r["address"] for r in rows], "户籍地行政区划代码": [r["district_code"] for r in rows],
        "联系电话": [r["mobile"] for r in rows],
        "户口类别": [rng.choices(["家庭户", "集体户"], [92, 8])[0] for _ in rows],
        "登记日期": [r["birth_date"] + timedelta(days=rng.randint(1, 60)) for r in rows],
    }


def load(console: Any = None) -> None:
    from citybase.demo import synth

    rng = random.Random(2026)
    persons_v2 = synth.persons(N_PERSONS, seed=11, defects=0.04)
    if _needs_data(PERSONS):
        # Two versions so the trend chart has a story: the first delivery was worse.
        v1 = synth.persons(N_PERSONS, seed=11, defects=0.09)
        _ingest(PERSONS, _persons_columns(v1, rng), "公安人口库导出 2026-10", console)
        _ingest(PERSONS, _persons_columns(persons_v2, rng), "公安人口库导出 2026-11", console)
    firms = synth.enterprises(N_ENTERPRISES, seed=12, defects=0.05)
    if _needs_data(ENTERPRISES):
        people = synth.persons(N_ENTERPRISES, seed=13)
        _ingest(ENTERPRISES, {
            "统一社会信用代码": [f["credit_code"] for f in firms], "企业名称": [f["name"] for f in firms],
            "市场主体类型": [_QYLX.get(f["org_type"], f["org_type"]) for f in firms],
            "法定代表人": [f["legal_rep"] for f in firms], "法定代表人身份证号": [p["id_number"] for p in people],
            "注册资本（万元）": [f["reg_capital"] for f in firms], "成立日期": [f["established"] for f in firms],
            "登记状态": [rng.choices(["存续", "在业", "吊销", "注销"], [70, 20, 4, 6])[0] for _ in firms],
            "住所": [f["address"] for f in firms], "住所行政区划代码": [f["district_code"] for f in firms],
            "邮政编码": [rng.choice(["214000", "214001", "214026", "214101", "214400", "214200"]) for _ in firms],
            "经营范围": [f"{f['industry']}相关业务" for f in firms], "登记机关": ["无锡市市场监督管理局"] * len(firms),
        }, "市场监管登记系统 2026-11", console)
    if _needs_data(INSURED):
        clean = [p for p in persons_v2 if p["_defect"] is None][:N_INSURED]
        good_firms = [f for f in firms if f["_defect"] is None]
        phones, units = [], []
        for i, p in enumerate(clean):
            # 6 % of people gave 人社 a different mobile than 公安 (一数一源 conflicts)
            phones.append(p["mobile"] if rng.random() > 0.06 or not p["mobile"]
                          else "1" + rng.choice("3589") + f"{rng.randrange(10**9):09d}")
            # 2 % of employers' credit codes do not exist in 市场主体登记 (referential findings)
            f = good_firms[i % len(good_firms)]
            units.append((f["credit_code"] if rng.random() > 0.02 else "91320200MA" + f"{rng.randrange(10**8):08d}",
                          f["name"]))
        _ingest(INSURED, {
            "公民身份号码": [p["id_number"] for p in clean], "姓名": [p["name"] for p in clean],
            "参保单位统一社会信用代码": [u[0] for u in units], "参保单位名称": [u[1] for u in units],
            "险种类型": [rng.choice(["企业职工基本养老保险", "失业保险", "工伤保险"]) for _ in clean],
            "参保状态": [rng.choices(["正常参保", "暂停缴费", "终止参保"], [85, 10, 5])[0] for _ in clean],
            "参保日期": [date(2005, 1, 1) + timedelta(days=rng.randrange(7000)) for _ in clean],
            "联系电话": phones,
            "缴费基数（元）": [round(rng.uniform(4494, 24000), 0) for _ in clean],
        }, "人社业务系统 2026-10", console)
    if _needs_data(WATER):
        stations = [("WX-TH-01", "太湖沙渚", "320211"), ("WX-TH-02", "太湖锡东水厂", "320205"),
                    ("WX-HR-03", "梁溪河仙蠡桥", "320213"), ("WX-JN-04", "京杭运河五牧", "320206"),
                    ("WX-JY-05", "长江江阴小湾", "320281"), ("WX-YX-06", "宜兴西氿", "320282")]
        start = datetime(2026, 11, 18)
        cols: dict[str, list[Any]] = {k: [] for k in ("监测站编码", "监测时间", "监测站名称", "pH", "溶解氧（mg/L）",
                                                       "高锰酸盐指数（mg/L）", "氨氮（mg/L）", "总磷（mg/L）", "水质类别",
                                                       "所在行政区划")}
        for code, name, div in stations:
            for h in range(72):
                ph = round(rng.gauss(7.6, 0.35), 2)
                if rng.random() < 0.01:
                    ph = round(rng.choice([4.2, 11.8, 15.3]), 2)  # sensor glitches
                do = None if rng.random() < 0.03 else round(rng.gauss(7.5, 1.2), 2)  # 3 % missing
                nh3 = round(abs(rng.gauss(0.35, 0.2)), 3)
                tp = round(abs(rng.gauss(0.08, 0.03)), 3)
                cls = "Ⅱ类" if nh3 < 0.5 and tp < 0.1 else ("Ⅲ类" if nh3 < 1.0 and tp < 0.2 else "Ⅳ类")
                for k, v in zip(cols, (code, start + timedelta(hours=h), name, ph, do, round(abs(rng.gauss(3.5, 0.8)), 2),
                                       nh3, tp, cls, div), strict=True):
                    cols[k].append(v)
        _ingest(WATER, cols, "水质自动监测站 2026-11-18 至 11-20", console)
