"""《数据质量检核报告》 as an Excel workbook: overview, rule results, masked samples, trend."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from sqlalchemy.orm import Session

from citybase.core.time import local_time
from citybase.quality import service
from citybase.quality.rules import DIMENSIONS

HEAD = PatternFill("solid", fgColor="DDE7F3")
BAD = PatternFill("solid", fgColor="FBE3E3")
BOLD = Font(bold=True)


def _header(ws: Any, row: int, titles: list[str]) -> None:
    for i, t in enumerate(titles, 1):
        c = ws.cell(row=row, column=i, value=t)
        c.font, c.fill = BOLD, HEAD
        c.alignment = Alignment(horizontal="center")


def build(session: Session, resource_code: str, version: int) -> bytes:
    from citybase.catalog import service as catalog

    res = catalog.get_resource(session, resource_code)
    rep = service.get_report(session, resource_code, version)
    labels = {f.name: f.label for f in res.fields}
    wb = Workbook()
    ws = wb.active
    ws.title = "概览"
    ws["A1"] = "数据质量检核报告"
    ws["A1"].font = Font(bold=True, size=16)
    rows = [
        ("信息资源名称", res.name), ("信息资源代码", res.code), ("提供方", res.provider_name or res.provider_code),
        ("数据版本", f"第 {version} 版"), ("记录数", rep.row_count), ("检核时间", local_time(rep.created_at)),
        ("检核规则数", rep.statistics.get("evaluated_expectations")),
        ("通过规则数", rep.statistics.get("successful_expectations")),
        ("未通过规则数", rep.statistics.get("unsuccessful_expectations")),
        ("综合得分", rep.score),
    ]
    rows += [(f"{DIMENSIONS[d]}得分", v) for d, v in rep.scores.items()]
    for i, (k, v) in enumerate(rows, start=3):
        ws.cell(row=i, column=1, value=k).font = BOLD
        ws.cell(row=i, column=2, value=v)
    n = len(rows) + 4
    ws.cell(row=n, column=1, value="说明：维度得分为该维度各规则通过率（100 − 问题比例）的平均值，综合得分为各维度得分的平均值。"
                                   "样例中的个人信息已按 GB/T 35273 脱敏。")
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 48

    ws2 = wb.create_sheet("规则明细")
    _header(ws2, 1, ["序号", "质量维度", "信息项", "规则说明", "规则类型（GX）", "检核记录数", "缺失（未评估）数",
                     "问题记录数", "问题比例(%)", "结果"])
    for i, r in enumerate(rep.results, start=1):
        cfg, res_ = r["expectation_config"], r["result"]
        col = cfg["kwargs"].get("column") or "、".join(cfg["kwargs"].get("column_list") or [])
        values = [i, cfg["meta"]["dimension_label"], labels.get(col, col) if col else "（整个资源）",
                  cfg["meta"]["description"], cfg["type"], res_["element_count"], res_["missing_count"],
                  res_["unexpected_count"], res_["unexpected_percent"],
                  "通过" if r["success"] else ("执行出错：" + (r["exception_info"]["exception_message"] or "")
                                             if r["exception_info"]["raised_exception"] else "未通过")]
        for j, v in enumerate(values, start=1):
            c = ws2.cell(row=i + 1, column=j, value=v)
            if not r["success"]:
                c.fill = BAD
    for col, w in zip("ABCDEFGHIJ", (6, 10, 18, 40, 52, 12, 14, 12, 12, 10), strict=True):
        ws2.column_dimensions[col].width = w

    ws3 = wb.create_sheet("问题样例")
    _header(ws3, 1, ["规则说明", "行号", "字段值（已脱敏）"])
    line = 2
    for r in rep.results:
        for sample in r["result"].get("partial_unexpected_rows", []):
            ws3.cell(row=line, column=1, value=r["expectation_config"]["meta"]["description"])
            ws3.cell(row=line, column=2, value=sample["row"])
            ws3.cell(row=line, column=3, value="；".join(f"{labels.get(k, k)}={'' if v is None else v}"
                                                       for k, v in sample["values"].items()))
            line += 1
    ws3.column_dimensions["A"].width = 40
    ws3.column_dimensions["C"].width = 80

    ws4 = wb.create_sheet("趋势")
    dims = list(DIMENSIONS)
    _header(ws4, 1, ["版本", "综合得分", *[DIMENSIONS[d] for d in dims], "记录数"])
    tr = service.trend(session, resource_code)
    for i, t in enumerate(tr, start=2):
        ws4.cell(row=i, column=1, value=f"v{t['version']}")
        ws4.cell(row=i, column=2, value=t["score"])
        for j, d in enumerate(dims, start=3):
            ws4.cell(row=i, column=j, value=t["scores"].get(d))
        ws4.cell(row=i, column=3 + len(dims), value=t["row_count"])
    if tr:
        chart = LineChart()
        chart.title = "质量得分趋势"
        chart.y_axis.title = "得分"
        chart.add_data(Reference(ws4, min_col=2, min_row=1, max_row=len(tr) + 1), titles_from_data=True)
        chart.set_categories(Reference(ws4, min_col=1, min_row=2, max_row=len(tr) + 1))
        ws4.add_chart(chart, "J2")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
