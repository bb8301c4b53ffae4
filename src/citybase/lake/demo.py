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
# the rest of the open and base-library sources, so every listed dataset and all five libraries have data
SOCIAL_ORGS = "102002-0001"
PENALTIES = "104001-0001"
TAX_CREDIT = "104002-0001"
CITY_PARTS = "201001-0001"
PROJECTS = "309001-0001"
WATER_LEVEL = "311001-0001"
INDUSTRY = "316001-0001"
POPULATION_STATS = "316002-0001"
LICENCES = "105001-0001"

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
    _more(persons_v2, firms, random.Random(2027), console)


def _more(persons: list[dict[str, Any]], firms: list[dict[str, Any]], rng: random.Random, console: Any) -> None:
    """The remaining demo sources: credit records and licences keyed by the firms' credit codes, the
    open datasets of 城管, 住建, 水利 and 统计, and the district population aggregates."""
    from citybase.config import get_settings
    from citybase.demo import synth
    from citybase.reference import divisions

    city = get_settings().city_code
    districts = [(d.code, d.name) for d in divisions.city_profile(city).districts]
    good = [f for f in firms if f["_defect"] is None]
    day0 = date(2026, 12, 1)
    if _needs_data(POPULATION_STATS):
        stats: dict[str, dict[str, int]] = {}
        for p in persons:
            if p["_defect"] is not None or not p["district_code"]:
                continue
            d = stats.setdefault(p["district_code"], {"all": 0, "男": 0, "女": 0, "young": 0, "adult": 0, "old": 0})
            age = (day0 - p["birth_date"]).days // 365
            d["all"] += 1
            d[p["gender"]] = d.get(p["gender"], 0) + 1
            d["young" if age < 18 else "adult" if age < 60 else "old"] += 1
        names = dict(districts)
        rows = sorted(stats.items())
        _ingest(POPULATION_STATS, {
            "统计日期": [day0] * len(rows), "区划代码": [c for c, _ in rows], "区县名称": [names.get(c, c) for c, _ in rows],
            "户籍人口（人）": [d["all"] for _, d in rows], "男性（人）": [d["男"] for _, d in rows],
            "女性（人）": [d["女"] for _, d in rows], "0-17岁（人）": [d["young"] for _, d in rows],
            "18-59岁（人）": [d["adult"] for _, d in rows], "60岁及以上（人）": [d["old"] for _, d in rows],
        }, "人口基础信息按区汇总 2026-12", console)
    if _needs_data(SOCIAL_ORGS):
        taken: set[str] = set()
        kinds = ["社会团体", "民办非企业单位", "基金会"]
        topics = ["书法家协会", "养老服务中心", "慈善基金会", "青年创业协会", "社区服务中心", "志愿者协会", "围棋协会", "康复中心"]
        rows = []
        for i in range(80):
            code, name = rng.choice(districts)
            topic = topics[i % len(topics)]
            rows.append((synth._new_credit_code("51", code, True, taken, rng), f"无锡市{name}{topic}{i // len(topics) + 1 if i >= len(topics) else ''}",
                         "基金会" if "基金会" in topic else "民办非企业单位" if "中心" in topic else kinds[0],
                         rng.choice(["无锡市民政局", "无锡市文联", "无锡市体育局", "无锡市团委"]),
                         date(2000, 1, 1) + timedelta(days=rng.randrange(9000)),
                         f"无锡市{name}{rng.choice(['人民路', '解放路', '中山路'])}{rng.randint(1, 300)}号", code))
        _ingest(SOCIAL_ORGS, dict(zip(("统一社会信用代码", "社会组织名称", "组织类型", "业务主管单位", "成立登记日期", "住所",
                                       "登记管理机关区划"), map(list, zip(*rows, strict=True)), strict=True)),
                "民政社会组织登记系统 2026-11", console)
    if _needs_data(PENALTIES):
        reasons = [("未按规定公示年度报告", "警告"), ("销售过期食品", "罚款"), ("无证经营", "没收违法所得"),
                   ("虚假宣传", "罚款"), ("未按规定处置建筑垃圾", "罚款"), ("超标排放污水", "罚款")]
        chosen = rng.sample(good, 120)
        rows = []
        for i, f in enumerate(chosen, 1):
            why, kind = rng.choice(reasons)
            rows.append((f"锡市监处罚〔2026〕{i:04d}号", f["name"], f["credit_code"], why, kind,
                         round(rng.uniform(0.2, 20), 2) if kind == "罚款" else 0.0,
                         date(2026, 1, 1) + timedelta(days=rng.randrange(330)),
                         rng.choice(["无锡市市场监督管理局", "无锡市城市管理局", "无锡市生态环境局"])))
        _ingest(PENALTIES, dict(zip(("行政处罚决定书文号", "行政相对人名称", "统一社会信用代码", "处罚事由", "处罚类别",
                                     "罚款金额（万元）", "处罚决定日期", "处罚机关"), map(list, zip(*rows, strict=True)),
                                strict=True)), "信用信息共享平台 行政处罚 2026-11", console)
    if _needs_data(TAX_CREDIT):
        chosen = rng.sample(good, 400)
        _ingest(TAX_CREDIT, {"统一社会信用代码": [f["credit_code"] for f in chosen], "纳税人名称": [f["name"] for f in chosen],
                             "评价年度": [2025] * len(chosen),
                             "信用等级": [rng.choices(["A", "B", "M", "C", "D"], [30, 45, 15, 7, 3])[0] for _ in chosen]},
                "税务纳税信用评价 2025 年度", console)
    if _needs_data(LICENCES):
        chosen = good[:600]
        issued = [f["established"] if isinstance(f["established"], date) else date(2015, 1, 1) for f in chosen]
        _ingest(LICENCES, {
            "证照编号": [f"YYZZ{f['credit_code'][-10:]}" for f in chosen],
            "统一社会信用代码": [f["credit_code"] for f in chosen], "持证主体名称": [f["name"] for f in chosen],
            "发证机关": ["无锡市行政审批局"] * len(chosen), "发证日期": issued,
            "有效期至": [d.replace(year=min(d.year + 30, 9999)) if not (d.month == 2 and d.day == 29)
                     else date(d.year + 30, 2, 28) for d in issued],
            "证照状态": [rng.choices(["有效", "注销", "吊销"], [92, 6, 2])[0] for _ in chosen],
        }, "电子证照库 营业执照 2026-11", console)
    if _needs_data(CITY_PARTS):
        kinds = ["上水井盖", "污水井盖", "雨水井盖", "路灯", "消防栓", "垃圾箱", "公交站亭"]
        rows = []
        for i, p in enumerate(rng.sample(persons, 300), 1):  # the people's home points spread the parts over the city
            kind = rng.choice(kinds)
            rows.append((f"BJ{p['district_code'] or city}{i:05d}", kind, f"{kind}{i:05d}",
                         rng.choice(["无锡市城市管理局", "无锡市水利局", "无锡市消防救援支队", "无锡市交通运输局"]),
                         rng.choice(["无锡市市政设施养护中心", "无锡城发环境公司"]), p["lon"], p["lat"],
                         p["street_code"], rng.choices(["完好", "破损", "丢失"], [90, 8, 2])[0],
                         date(2025, 6, 1) + timedelta(days=rng.randrange(120))))
        _ingest(CITY_PARTS, dict(zip(("部件编码", "部件类型", "部件名称", "权属单位", "养护单位", "经度", "纬度", "所在街道代码",
                                      "部件状态", "普查日期"), map(list, zip(*rows, strict=True)), strict=True)),
                "数字城管部件普查 2025", console)
    if _needs_data(PROJECTS):
        builders = rng.sample(good, 60)
        rows = []
        for i, f in enumerate(builders, 1):
            code, name = rng.choice(districts)
            rows.append((f"XM2026{i:04d}", f"{name}{rng.choice(['安置房', '学校', '道路改造', '商业综合体', '厂房'])}项目（{i}期）",
                         f"320200202601{i:04d}0101", f["credit_code"], rng.choice(good)["credit_code"],
                         synth._person_name(rng, rng.random() < 0.8),
                         date(2025, 3, 1) + timedelta(days=rng.randrange(600)),
                         f"无锡市{name}{rng.choice(['人民路', '解放路', '中山路'])}{rng.randint(1, 300)}号", code))
        _ingest(PROJECTS, dict(zip(("项目编码", "项目名称", "施工许可证号", "建设单位统一社会信用代码", "施工单位统一社会信用代码",
                                    "项目负责人", "开工日期", "项目地址", "所在区划"), map(list, zip(*rows, strict=True)),
                               strict=True)), "住建施工许可系统 2026-11", console)
    if _needs_data(WATER_LEVEL):
        stations = [("SW-01", "南门水位站", "320213", 3.6), ("SW-02", "犊山闸", "320211", 3.9),
                    ("SW-03", "望亭水位站", "320214", 3.7), ("SW-04", "甘露水位站", "320205", 3.8)]
        cols: dict[str, list[Any]] = {k: [] for k in ("测站编码", "监测时间", "测站名称", "水位（米）", "警戒水位（米）", "所在区划")}
        start = datetime(2026, 11, 28)
        for code, name, div, alarm in stations:
            level = alarm - 0.6
            for h in range(0, 72, 1):
                level = round(level + rng.gauss(0, 0.03), 2)
                for k, v in zip(cols, (code, start + timedelta(hours=h), name, level, alarm, div), strict=True):
                    cols[k].append(v)
        _ingest(WATER_LEVEL, cols, "水文监测站 2026-11-28 至 11-30", console)
    if _needs_data(INDUSTRY):
        months = ["2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
        rows = [(m, c, round(rng.uniform(150, 900), 1), round(rng.gauss(6.5, 2.5), 1), round(rng.uniform(8, 60), 1))
                for m in months for c, _ in districts]
        _ingest(INDUSTRY, dict(zip(("统计月份", "区划代码", "工业总产值（亿元）", "增加值增速（%）", "利润总额（亿元）"),
                                   map(list, zip(*rows, strict=True)), strict=True)), "统计联网直报 2026 年 7-11 月", console)
