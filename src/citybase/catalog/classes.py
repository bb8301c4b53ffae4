"""The resource classification (类/项/目) used to suggest class names and label search facets.

类: 1 基础 · 2 主题 · 3 部门. 项 (2 digits) and 目 (3 digits) below follow common practice in city
catalogues; a city may use other codes — only the shape of a class code is enforced."""

from __future__ import annotations

CLASSES: dict[str, str] = {
    "1": "基础信息资源", "2": "主题信息资源", "3": "部门信息资源",
    "101": "人口", "102": "法人", "103": "自然资源和空间地理", "104": "社会信用", "105": "电子证照",
    "201": "城市管理", "202": "生态环境", "203": "交通出行", "204": "卫生健康", "205": "社会保障",
    "206": "教育文化", "207": "应急管理", "208": "市场监管", "209": "公共安全", "210": "经济运行",
    "211": "住房建设", "212": "水务水利", "213": "民生服务",
    "301": "公安", "302": "市场监管", "303": "人力资源和社会保障", "304": "生态环境", "305": "城市管理",
    "306": "民政", "307": "卫生健康", "308": "自然资源和规划", "309": "住房和城乡建设", "310": "交通运输",
    "311": "水利", "312": "教育", "313": "应急管理", "314": "司法行政", "315": "税务", "316": "统计",
    "317": "医疗保障", "318": "发展改革", "319": "行政审批", "320": "文化广电和旅游", "321": "信访",
    "101001": "人口基本信息", "101002": "人口户籍变动", "102001": "企业登记信息", "102002": "社会组织登记信息",
    "103001": "不动产登记", "103002": "地名地址", "104001": "行政处罚信息", "104002": "纳税信用",
    "105001": "营业执照", "105002": "婚姻登记证照",
}


def class_label(code: str) -> str:
    """The name of the most specific known level of ``code``, e.g. 101001 → 人口/人口基本信息."""
    parts = [CLASSES[p] for p in (code[:3], code[:6]) if len(code) >= len(p) and p in CLASSES]
    return "/".join(parts)


def item_label(code3: str) -> str:
    base = CLASSES.get(code3[:1], "")
    item = CLASSES.get(code3, "")
    return f"{base[:2]}·{item}" if item else code3
