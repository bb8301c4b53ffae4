"""Write the catalogue sheet: the export departments edit and import again, and the blank template.

The layout is the one :mod:`excel` reads: one row per 信息项, a resource's own cells merged down
its rows, drop-downs from a hidden 取值 sheet, the keywords on 扩展属性."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from citybase.catalog.classes import CLASSES, class_label
from citybase.catalog.schemas import (
    DATA_TYPES,
    ELEMENT_LABELS,
    OPEN_TYPES,
    SHARE_TYPES,
    UPDATE_CYCLES,
    FieldIn,
    ResourceOut,
)
from citybase.catalog.service import resources as records
from citybase.catalog.service.excel import (
    CHOICES_SHEET,
    COLUMNS,
    EXAMPLE_CODE,
    EXTRA_COLUMNS,
    EXTRA_SHEET,
    RESOURCE_COLUMNS,
    SHEET,
    _col,
    format_class,
    format_element,
    format_open,
)
from citybase.core.audit import service as audit
from citybase.core.identity.principal import Principal, authorize


def resource_rows(r: ResourceOut) -> list[list[Any]]:
    base = {
        "信息资源分类": format_class(r.class_code, r.class_name), "信息资源名称": r.name, "信息资源代码": r.code,
        "信息资源提供方": r.provider_name, "信息资源提供方代码": r.provider_code, "信息资源摘要": r.summary,
        "信息资源格式": r.format, "共享类型": r.share_type,
        "共享条件": r.share_basis if r.share_type == "不予共享" else r.share_condition,
        "共享方式": r.share_method, "开放属性": format_open(r.open_type, r.open_condition),
        "更新周期": r.update_cycle, "发布日期": r.publish_date, "关联资源代码": "；".join(r.related_codes),
    }
    rows = []
    for f in r.fields or [None]:
        cells = dict(base)
        if f is not None:
            cells.update({"信息项名称": f.name, "信息项中文名": f.label, "数据类型": DATA_TYPES[f.data_type],
                          "数据元标准": format_element(f.element, f.enum_values), "分级": f.grading,
                          "是否主键": "是" if f.is_key else "否", "是否可为空": "是" if f.nullable else "否"})
        rows.append([cells.get(c, "") for c in COLUMNS])
    return rows


EXAMPLE = ResourceOut.model_construct(
    code=EXAMPLE_CODE, name="（示例）集中式饮用水水源地水质监测", summary="全市集中式饮用水水源地的自动监测数据，每日更新",
    class_code="202001", class_name="生态环境/水环境", provider_code="320200-sthjj", provider_name="无锡市生态环境局",
    format="数据库表", share_type="无条件共享", share_condition="", share_basis="", share_method="接口调用",
    open_type="无条件开放", open_condition="", update_cycle="每日", publish_date=None, related_codes=[], keywords=[],
    fields=[FieldIn(name="zdbm", label="站点编码", grading="L1", nullable=False, is_key=True),
            FieldIn(name="jcsj", label="监测时间", data_type="datetime", element="date", grading="L1", nullable=False),
            FieldIn(name="szlb", label="水质类别", element="enum", enum_values=["Ⅰ类", "Ⅱ类", "Ⅲ类"], grading="L1")])


def _choices() -> dict[str, list[str]]:
    """The allowed values of the columns that have a closed list, as the drop-downs offer them."""
    return {"信息资源分类": [f"{c} {class_label(c)}" for c in sorted(CLASSES) if len(c) == 6],
            "数据类型": list(DATA_TYPES.values()), "数据元标准": [v for k, v in ELEMENT_LABELS.items() if k != "enum"]
            + ["枚举值：值1|值2"], "分级": ["L1", "L2", "L3", "L4"], "是否主键": ["是", "否"], "是否可为空": ["是", "否"],
            "共享类型": list(SHARE_TYPES), "开放属性": list(OPEN_TYPES), "更新周期": list(UPDATE_CYCLES)}


def write_workbook(resources: list[ResourceOut], path: Path, *, example: bool = False) -> None:
    """The catalogue sheet: one row per 信息项; a resource's own cells are merged down its rows (read
    from the first row on import); drop-downs from a hidden 取值 sheet. ``example`` writes the blank
    template's example row (its 信息资源代码 “示例” keeps it from being imported)."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append(COLUMNS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE7F5" if cell.value in RESOURCE_COLUMNS else "E8F3E8")
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    ws["A1"].comment = Comment("蓝色列是资源级信息，只读取每个资源的第一行；绿色列每行一个信息项。"
                               "信息资源分类可填代码、名称路径或两者。", "citybase")
    top = Alignment(vertical="top", wrap_text=True)
    for r in ([EXAMPLE] if example else []) + resources:
        first = ws.max_row + 1
        for row in resource_rows(r):
            ws.append(row)
        last = ws.max_row
        for h in RESOURCE_COLUMNS:
            letter = _col(h)
            ws[f"{letter}{first}"].alignment = top
            if last > first:
                ws.merge_cells(f"{letter}{first}:{letter}{last}")
        if r.code == EXAMPLE_CODE:
            for row in ws.iter_rows(min_row=first, max_row=last):
                for cell in row:
                    cell.font = Font(color="808080", italic=True)
    date_col = COLUMNS.index("发布日期") + 1
    for (cell,) in ws.iter_rows(min_row=2, min_col=date_col, max_col=date_col):
        cell.number_format = "yyyy-mm-dd"
    widths = {"信息资源分类": 26, "信息资源名称": 24, "信息资源代码": 14, "信息资源提供方": 22, "信息资源摘要": 36,
              "信息项中文名": 18, "数据元标准": 18, "共享条件": 30, "开放属性": 24, "关联资源代码": 18}
    for i, c in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = widths.get(c, 12)
    ws.freeze_panes = "B2"
    lists = wb.create_sheet(CHOICES_SHEET)
    lists.sheet_state = "hidden"
    last = max(ws.max_row, 2000)
    for i, (header, options) in enumerate(_choices().items(), start=1):
        letter = get_column_letter(i)
        lists.cell(row=1, column=i, value=header)
        for j, option in enumerate(options, start=2):
            lists.cell(row=j, column=i, value=option)
        # the lists are a help, not a wall: 枚举值 and conditions (有条件开放：…) are typed freely
        strict = header not in ("数据元标准", "开放属性", "信息资源分类")
        dv = DataValidation(type="list", formula1=f"'{CHOICES_SHEET}'!${letter}$2:${letter}${len(options) + 1}",
                            allow_blank=True, showErrorMessage=strict, errorTitle="取值不在列表中",
                            error=f"{header}请从下拉列表中选择")
        target = _col(header)
        dv.add(f"{target}2:{target}{last}")
        ws.add_data_validation(dv)
    extra = wb.create_sheet(EXTRA_SHEET)
    extra.append(EXTRA_COLUMNS)
    for cell in extra[1]:
        cell.font = Font(bold=True)
    for r in resources:
        if r.keywords:
            extra.append([r.code, "；".join(r.keywords)])
    extra.column_dimensions["A"].width = 16
    extra.column_dimensions["B"].width = 40
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    wb.save(tmp)
    tmp.replace(path)


def write_template(path: Path) -> None:
    """导出空白模板: the headers, the drop-downs and one filled example row (never imported)."""
    write_workbook([], Path(path), example=True)


def export_catalog(session: Session, principal: Principal, path: Path, *, status: str | None = None,
                   provider_code: str | None = None) -> int:
    authorize(principal, "catalog.read")
    resources = [r for r in records.list_resources(session, status=status, provider_code=provider_code)
                 if records.can_view(session, principal, r)]
    write_workbook(resources, Path(path))
    audit.record(session, principal, "catalog.export", "catalog_file", Path(path).name,
                 {"resources": len(resources), "status": status, "provider": provider_code})
    return len(resources)


def export_xlsx(session: Session, principal: Principal, path: Path, *, status: str | None = None,
                provider_code: str | None = None) -> int:
    """:func:`export_catalog` under the service's name for it."""
    return export_catalog(session, principal, path, status=status, provider_code=provider_code)
