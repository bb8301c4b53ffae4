"""Import and export the catalogue as the Excel sheet departments fill in (one row per 信息项).

Resource-level cells may repeat on every row of a resource or be left blank (or merged) after its
first row. Lossless encodings inside the fixed columns:

- 信息资源分类: ``101001 人口/人口基本信息`` (class code, then the class name)
- 数据元标准: ``enum:男|女`` carries the allowed values of an enumerated 信息项
- 共享条件: for 不予共享 it holds the legal basis
- 开放属性: ``有条件开放：条件`` (type, then the condition after a full-width colon)
- a second sheet 扩展属性 (信息资源代码 · 关键词) carries the keywords; it is optional on import.

An import is all or nothing: every bad cell is reported with sheet, row and column (Chinese message,
stable code) and nothing is written. Files are checked before parsing: size, zip structure and
decompressed size (zip bombs), and XML is parsed with defusedxml (openpyxl uses it when installed).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
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
    ImportReport,
    ResourceIn,
    ResourceOut,
)
from citybase.catalog.service import resources as records
from citybase.catalog.service import review
from citybase.core.audit import service as audit
from citybase.core.errors import BadInput, CitybaseError, TooLarge
from citybase.core.identity.principal import Principal, authorize
from citybase.standards.crypto import sm3_hex

SHEET = "信息资源目录"
EXTRA_SHEET = "扩展属性"
COLUMNS = ["信息资源分类", "信息资源名称", "信息资源代码", "信息资源提供方", "信息资源提供方代码", "信息资源摘要",
           "信息资源格式", "信息项名称", "信息项中文名", "数据类型", "数据元标准", "分级", "是否主键", "是否可为空",
           "共享类型", "共享条件", "共享方式", "开放属性", "更新周期", "发布日期", "关联资源代码"]
FIELD_COLUMNS = ["信息项名称", "信息项中文名", "数据类型", "数据元标准", "分级", "是否主键", "是否可为空"]
RESOURCE_COLUMNS = [c for c in COLUMNS if c not in FIELD_COLUMNS]
EXTRA_COLUMNS = ["信息资源代码", "关键词"]
ATTRIBUTE_LABELS = {"name": "信息资源名称", "summary": "信息资源摘要", "class_code": "分类代码", "class_name": "分类名称",
                    "provider_code": "提供方", "format": "格式", "share_type": "共享类型", "share_condition": "共享条件",
                    "share_basis": "不予共享依据", "share_method": "共享方式", "open_type": "开放属性",
                    "open_condition": "开放条件", "update_cycle": "更新周期", "publish_date": "发布日期",
                    "related_codes": "关联资源", "keywords": "关键词", "fields": "信息项"}
CHOICES_SHEET = "取值"
EXAMPLE_CODE = "示例"  # the template's example row carries this code and is never imported
# a changed attribute of a resource → the column an import reports it on
ATTRIBUTE_COLUMNS = {"name": "信息资源名称", "summary": "信息资源摘要", "class_code": "信息资源分类",
                     "class_name": "信息资源分类", "provider_code": "信息资源提供方代码", "format": "信息资源格式",
                     "share_type": "共享类型", "share_condition": "共享条件", "share_basis": "共享条件",
                     "share_method": "共享方式", "open_type": "开放属性", "open_condition": "开放属性",
                     "update_cycle": "更新周期", "publish_date": "发布日期", "related_codes": "关联资源代码",
                     "fields": "信息项名称"}

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
MAX_RATIO = 150
MAX_ENTRIES = 2000
MAX_ROWS = 100_000
MAX_CELL = 4000

DATA_TYPE_BY_LABEL = {v: k for k, v in DATA_TYPES.items()}
ELEMENT_BY_LABEL = {v: k for k, v in ELEMENT_LABELS.items()}
OPEN_ALIASES = {"受限开放": "有条件开放", "禁止开放": "不予开放", "非开放": "不予开放", "不开放": "不予开放"}
YES = {"是", "y", "yes", "true", "1", "√", "✓"}
NO = {"否", "n", "no", "false", "0", "×", "✗"}
LIST_SPLIT = re.compile(r"[;；、,，\n]+")
# service problem "field" → the sheet column it came from
PROBLEM_COLUMNS = {"code": "信息资源代码", "class_code": "信息资源分类", "catalog_type": "信息资源分类",
                   "share_basis": "共享条件", "share_condition": "共享条件", "open_condition": "开放属性",
                   "open_type": "开放属性", "related_codes": "关联资源代码"}
FIELD_PROBLEM_COLUMNS = {"bad_field_name": "信息项名称", "duplicate_field": "信息项名称", "key_nullable": "是否可为空",
                         "enum_values_required": "数据元标准", "l4_open": "分级"}


# ---------------------------------------------------------------- safety

def check_xlsx(path: Path) -> None:
    """Refuse what is not a sane .xlsx before any XML is parsed."""
    if not path.is_file():
        raise BadInput(f"文件不存在：{path}", code="file_not_found")
    size = path.stat().st_size
    if size == 0:
        raise BadInput("文件是空的", code="empty_file")
    if size > MAX_FILE_BYTES:
        raise TooLarge(f"文件过大（{size // 1048576} MB），目录文件不得超过 {MAX_FILE_BYTES // 1048576} MB",
                       code="file_too_large", detail={"bytes": size})
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            names = {i.filename for i in infos}
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BadInput("文件不是有效的 Excel（.xlsx）文件，请用 Excel 或 WPS 另存为 .xlsx 后再导入",
                       code="not_xlsx") from exc
    if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
        raise BadInput("文件不是有效的 Excel（.xlsx）文件：缺少工作簿结构", code="not_xlsx")
    if len(infos) > MAX_ENTRIES:
        raise BadInput("Excel 文件内部结构异常（条目过多），已拒绝", code="xlsx_suspicious")
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > 1_000_000 and info.file_size > MAX_RATIO * max(1, info.compress_size):
            raise TooLarge("Excel 文件的压缩比异常（疑似压缩炸弹），已拒绝", code="zip_bomb",
                           detail={"entry": info.filename, "ratio": info.file_size // max(1, info.compress_size)})
    if total > MAX_UNZIPPED_BYTES:
        raise TooLarge("Excel 文件解压后过大（疑似压缩炸弹），已拒绝", code="zip_bomb", detail={"unzipped_bytes": total})


# ---------------------------------------------------------------- cell parsing

@dataclass
class CellError:
    sheet: str
    row: int
    column: str
    header: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "header": self.header,
                "code": self.code, "message": self.message,
                "where": f"工作表“{self.sheet}”第 {self.row} 行 {self.column} 列（{self.header}）"}


@dataclass
class Group:
    first_row: int
    values: dict[str, Any] = field(default_factory=dict)
    rows_of: dict[str, int] = field(default_factory=dict)  # header → the row its value came from
    fields: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    conflicts: set[str] = field(default_factory=set)  # resource-level columns a later row contradicted
    keywords_given: bool = True  # False when the file has no 扩展属性 sheet: keep the keywords on record


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and 1 <= value < 2958466:
        from openpyxl.utils.datetime import from_excel

        return from_excel(value).date()
    text = _text(value)
    m = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?", text)
    if not m:
        raise ValueError(text)
    return date(int(m[1]), int(m[2]), int(m[3]))


def _yes_no(text: str) -> bool:
    t = text.strip().lower()
    if t in YES:
        return True
    if t in NO:
        return False
    raise ValueError(text)


def split_list(text: str) -> list[str]:
    return [p.strip() for p in LIST_SPLIT.split(text or "") if p.strip()]


def format_class(code: str, name: str) -> str:
    return f"{code} {name}".strip()


def _class_paths() -> dict[str, str]:
    """Every known 目-level class: its full name path (基础信息资源/人口/人口基本信息) → code."""
    return {"/".join((CLASSES[c[:1]], CLASSES[c[:3]], name)): c
            for c, name in CLASSES.items() if len(c) == 6 and c[:1] in CLASSES and c[:3] in CLASSES}


def parse_class(text: str) -> tuple[str, str]:
    """信息资源分类 as a code (``101001``), a name path of known classes (``人口/人口基本信息``, with or
    without the 类 in front), or both (``101001 人口/人口基本信息``) → (code, name)."""
    m = re.fullmatch(r"(\d{6,9})\s*(.*)", text, flags=re.S)
    if m:
        return m[1], m[2].strip() or class_label(m[1])
    parts = [p.strip() for p in re.split(r"[/／>＞\\]", text) if p.strip()]
    if parts:
        found = [code for path, code in _class_paths().items() if path.split("/")[-len(parts):] == parts]
        if len(found) == 1:
            return found[0], class_label(found[0])
        if not found and any("/".join(parts) == "/".join(path.split("/")[:len(parts)])
                             for path in _class_paths()):
            raise ValueError(f"信息资源分类“{text}”只到类或项，请具体到目（如“人口/人口基本信息”或代码 101001）")
    raise ValueError(f"信息资源分类须为 6–9 位分类代码、已知分类的名称路径（如“人口/人口基本信息”），或两者（如"
                     f"“101001 人口/人口基本信息”），实际为“{text}”")


def format_open(open_type: str, condition: str) -> str:
    return f"{open_type}：{condition}" if condition else open_type


def parse_open(text: str) -> tuple[str, str]:
    head, _, tail = re.sub(r"[:：]", "：", text, count=1).partition("：")
    head = head.strip()
    return OPEN_ALIASES.get(head, head), tail.strip()


def format_element(element: str, enum_values: list[str]) -> str:
    """数据元标准 as people read it: 居民身份证号码, or 枚举值：男|女 (codes are still accepted on import)."""
    if element == "enum":
        return f"枚举值：{'|'.join(enum_values)}" if enum_values else ELEMENT_LABELS["enum"]
    return ELEMENT_LABELS.get(element, element)


def _col(header: str) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(COLUMNS.index(header) + 1)


# ---------------------------------------------------------------- import

Parsed = tuple[ResourceIn, Group, list[int]]  # the resource, its rows, the row of each 信息项


def read_workbook(path: Path) -> tuple[list[Parsed], list[CellError], str, list[dict[str, Any]]]:
    """Parse the sheet into resources (and the first row of each), cell errors, the sheet name and warnings."""
    import openpyxl

    check_xlsx(path)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except CitybaseError:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for broken files
        raise BadInput("无法读取 Excel 文件，文件可能已损坏", code="xlsx_unreadable",
                       detail={"reason": type(exc).__name__}) from exc
    try:
        return _read(wb)
    except CitybaseError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise BadInput("无法读取 Excel 文件，文件可能已损坏", code="xlsx_unreadable",
                       detail={"reason": type(exc).__name__}) from exc
    finally:
        wb.close()


def _find_header(ws: Any) -> tuple[int, dict[str, int]] | None:
    for r, row in enumerate(ws.iter_rows(min_row=1, max_row=10, values_only=True), start=1):
        cells = [_text(v) for v in row]
        if "信息资源名称" in cells and "信息项名称" in cells:
            return r, {c: i for i, c in enumerate(cells) if c}
    return None


def _letter(index: dict[str, int], header: str) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index[header] + 1)


def _read(wb: Any) -> tuple[list[Parsed], list[CellError], str, list[dict[str, Any]]]:
    errors: list[CellError] = []
    warnings: list[dict[str, Any]] = []
    ws = None
    header_row, index = 0, {}
    for candidate in wb.worksheets:
        if candidate.title in (EXTRA_SHEET, CHOICES_SHEET):
            continue
        found = _find_header(candidate)
        if found:
            ws, (header_row, index) = candidate, found
            break
    if ws is None:
        raise BadInput("找不到目录表头：须有一行包含“信息资源名称”“信息项名称”等列名", code="missing_header",
                       detail={"required": COLUMNS})
    sheet = ws.title
    missing = [c for c in COLUMNS if c not in index]
    if missing:
        raise BadInput(f"工作表“{sheet}”第 {header_row} 行缺少列：{'、'.join(missing)}", code="missing_column",
                       detail={"sheet": sheet, "row": header_row, "missing": missing})

    def err(row: int, header: str, code: str, message: str) -> None:
        errors.append(CellError(sheet, row, _letter(index, header), header, code, message))

    groups: list[Group] = []
    current: Group | None = None
    for r, raw in enumerate(ws.iter_rows(min_row=header_row + 1, values_only=True), start=header_row + 1):
        if r - header_row > MAX_ROWS:
            raise TooLarge(f"目录表超过 {MAX_ROWS} 行", code="too_many_rows")
        row = {h: (raw[i] if i < len(raw) else None) for h, i in index.items() if h in COLUMNS}
        if all(_text(v) == "" for v in row.values()):
            continue
        for h, v in row.items():
            if len(_text(v)) > MAX_CELL:
                err(r, h, "value_too_long", f"内容过长（{len(_text(v))} 字），单元格不得超过 {MAX_CELL} 字")
                row[h] = _text(v)[:MAX_CELL]
        name, code = _text(row["信息资源名称"]), _text(row["信息资源代码"])
        starts = current is None or (code and code != current.values.get("信息资源代码", "")) or \
            (name and name != current.values.get("信息资源名称", ""))
        if starts:
            if not name:
                err(r, "信息资源名称", "missing_resource_name", "新资源的第一行必须填写信息资源名称")
            current = Group(first_row=r)
            groups.append(current)
        assert current is not None
        for h in RESOURCE_COLUMNS:
            value = row[h]
            if _text(value) == "":
                continue
            if h in current.values and _text(current.values[h]) != _text(value):
                if h not in current.conflicts:
                    current.conflicts.add(h)
                    warnings.append(CellError(sheet, r, _letter(index, h), h, "conflicting_value",
                                              f"与本资源第 {current.rows_of[h]} 行的值“{_text(current.values[h])}”"
                                              "不一致，已按第一行导入；资源级单元格只读取资源的第一行").as_dict())
                continue
            current.values.setdefault(h, value)
            current.rows_of.setdefault(h, r)
        if any(_text(row[h]) for h in FIELD_COLUMNS):
            current.fields.append((r, row))

    extra = _read_extra(wb)
    resources: list[Parsed] = []
    seen_codes: dict[str, int] = {}
    examples = [g for g in groups if _text(g.values.get("信息资源代码")) == EXAMPLE_CODE]
    groups = [g for g in groups if _text(g.values.get("信息资源代码")) != EXAMPLE_CODE]
    if examples and not groups and not errors:
        raise BadInput(f"工作表“{sheet}”只有示例行：请在示例行下方按示例填写本单位的信息资源（示例行不会导入）",
                       code="only_example")
    for g in groups:
        parsed = _parse_group(g, err, extra)
        code = _text(g.values.get("信息资源代码"))
        if code:
            if code in seen_codes:
                err(g.rows_of["信息资源代码"], "信息资源代码", "duplicate_resource_in_file",
                    f"信息资源代码 {code} 在第 {seen_codes[code]} 行已出现，同一资源的行须连续排列")
            seen_codes.setdefault(code, g.first_row)
        if parsed is not None:
            resources.append(parsed)
    if not groups and not errors:
        raise BadInput(f"工作表“{sheet}”只有表头，没有任何信息资源", code="no_resources")
    return resources, errors, sheet, warnings


def _read_extra(wb: Any) -> dict[str, list[str]] | None:
    if EXTRA_SHEET not in wb.sheetnames:
        return None
    out: dict[str, list[str]] = {}
    rows = wb[EXTRA_SHEET].iter_rows(values_only=True)
    header = [_text(v) for v in next(rows, ())]
    if "信息资源代码" not in header or "关键词" not in header:
        return None
    ci, ki = header.index("信息资源代码"), header.index("关键词")
    for raw in rows:
        code = _text(raw[ci]) if ci < len(raw) else ""
        if code:
            out[code] = split_list(_text(raw[ki]) if ki < len(raw) else "")
    return out


def _parse_group(g: Group, err: Any, extra: dict[str, list[str]] | None) -> Parsed | None:
    v, at = g.values, (lambda h: g.rows_of.get(h, g.first_row))
    ok = True

    def fail(h: str, code: str, message: str) -> None:
        nonlocal ok
        ok = False
        err(at(h), h, code, message)

    cls = _text(v.get("信息资源分类"))
    try:
        class_code, class_name = parse_class(cls)
    except ValueError as exc:
        fail("信息资源分类", "bad_class_code", str(exc))
        class_code, class_name = "", ""
    provider = _text(v.get("信息资源提供方代码"))
    if not provider:
        fail("信息资源提供方代码", "missing_provider_code", "须填写信息资源提供方代码（机构代码，如 320200-gaj）")
    share = _text(v.get("共享类型"))
    if share not in SHARE_TYPES:
        fail("共享类型", "bad_share_type", f"共享类型须为 {'/'.join(SHARE_TYPES)}，实际为“{share}”")
    open_cell = _text(v.get("开放属性"))
    open_type, open_condition = parse_open(open_cell)
    if open_type not in OPEN_TYPES:
        fail("开放属性", "bad_open_type", f"开放属性须为 {'/'.join(OPEN_TYPES)}（有条件开放可写“有条件开放：条件”），实际为“{open_cell}”")
    cycle = _text(v.get("更新周期"))
    if cycle not in UPDATE_CYCLES:
        fail("更新周期", "bad_update_cycle", f"更新周期须为 {'/'.join(UPDATE_CYCLES)}，实际为“{cycle}”")
    publish_date = None
    if _text(v.get("发布日期")):
        try:
            publish_date = _date(v["发布日期"])
        except (ValueError, OverflowError):
            fail("发布日期", "bad_date", f"发布日期须为日期（如 2026-01-31），实际为“{_text(v['发布日期'])}”")
    condition = _text(v.get("共享条件"))
    fields: list[FieldIn] = []
    field_rows: list[int] = []
    for r, row in g.fields:
        f = _parse_field(r, row, err)
        if f is None:
            ok = False
        else:
            fields.append(f)
            field_rows.append(r)
    if not ok:
        return None
    code = _text(v.get("信息资源代码")) or None
    data = dict(code=code, name=_text(v.get("信息资源名称")), summary=_text(v.get("信息资源摘要")),
                class_code=class_code, class_name=class_name, provider_code=provider,
                format=_text(v.get("信息资源格式")), share_type=share,
                share_condition="" if share == "不予共享" else condition,
                share_basis=condition if share == "不予共享" else "",
                share_method=_text(v.get("共享方式")), open_type=open_type, open_condition=open_condition,
                update_cycle=cycle, publish_date=publish_date,
                related_codes=split_list(_text(v.get("关联资源代码"))),
                keywords=(extra or {}).get(code or "", []), fields=fields)
    g.keywords_given = extra is not None
    try:
        res = ResourceIn(**data)
    except Exception as exc:  # noqa: BLE001 - pydantic length limits
        err(g.first_row, "信息资源名称", "invalid_resource", f"资源内容不符合要求：{exc.__class__.__name__}")
        return None
    return res, g, field_rows


def _parse_field(r: int, row: dict[str, Any], err: Any) -> FieldIn | None:
    ok = True

    def fail(h: str, code: str, message: str) -> None:
        nonlocal ok
        ok = False
        err(r, h, code, message)

    name, label = _text(row["信息项名称"]), _text(row["信息项中文名"])
    if not name:
        fail("信息项名称", "missing_field_name", "须填写信息项名称（英文或拼音字段名）")
    if not label:
        fail("信息项中文名", "missing_field_label", "须填写信息项中文名")
    dt_text = _text(row["数据类型"]) or "字符串"
    data_type = DATA_TYPE_BY_LABEL.get(dt_text, dt_text if dt_text in DATA_TYPES else None)
    if data_type is None:
        fail("数据类型", "bad_data_type", f"数据类型须为 {'/'.join(DATA_TYPES.values())}，实际为“{dt_text}”")
    el_text = _text(row["数据元标准"]) or "text"
    enum_values: list[str] = []
    m = re.fullmatch(r"(enum|枚举值?)\s*(?:[:：(（]\s*(.*?)\s*[)）]?)?", el_text, flags=re.S)
    if m:
        element = "enum"
        raw = m[2] or ""
        enum_values = [x.strip() for x in re.split(r"[|｜]" if re.search(r"[|｜]", raw) else r"[、,，;；]", raw)
                       if x.strip()]
    else:
        element = ELEMENT_BY_LABEL.get(el_text, el_text if el_text in ELEMENT_LABELS else None)
        if element is None:
            fail("数据元标准", "bad_element",
                 f"数据元标准须为 {'/'.join(ELEMENT_LABELS)} 之一（枚举可写“enum:值1|值2”），实际为“{el_text}”")
    g_text = _text(row["分级"]).upper()
    grading = g_text[:2] if re.match(r"^L[1-4]\b", g_text) else None
    if grading is None:
        fail("分级", "bad_grading", f"分级须为 L1、L2、L3 或 L4，实际为“{_text(row['分级'])}”" if g_text
             else "须填写分级（L1–L4）：身份证号 L4，姓名、电话、地址 L3")
    is_key = False
    try:
        is_key = _yes_no(_text(row["是否主键"]) or "否")
    except ValueError:
        fail("是否主键", "bad_yes_no", f"是否主键须填“是”或“否”，实际为“{_text(row['是否主键'])}”")
    nullable = True
    try:
        nullable = _yes_no(_text(row["是否可为空"]) or ("否" if is_key else "是"))
    except ValueError:
        fail("是否可为空", "bad_yes_no", f"是否可为空须填“是”或“否”，实际为“{_text(row['是否可为空'])}”")
    if not ok:
        return None
    try:
        return FieldIn(name=name, label=label, data_type=data_type, element=element, grading=grading,  # type: ignore[arg-type]
                       nullable=nullable, is_key=is_key, enum_values=enum_values)
    except Exception:  # noqa: BLE001 - pydantic length limits
        err(r, "信息项名称", "bad_field", "信息项名称或中文名过长")
        return None


def _map_problems(exc: BadInput, sheet: str, g: Group, field_rows: list[int]) -> list[CellError]:
    out = []
    for p in (exc.detail or {}).get("problems", []) or [{"code": exc.code, "message": exc.message}]:
        where = p.get("field", "")
        m = re.fullmatch(r"fields\[(\d+)\]", where)
        if m and int(m[1]) < len(field_rows):
            header = FIELD_PROBLEM_COLUMNS.get(p["code"], "信息项名称")
            row = field_rows[int(m[1])]
        else:
            header = PROBLEM_COLUMNS.get(where, "信息资源名称")
            row = g.rows_of.get(header, g.first_row)
        out.append(CellError(sheet, row, _col(header), header, p["code"], p["message"]))
    return out


def import_catalog(session: Session, principal: Principal, path: Path, *, publish: bool = False) -> ImportReport:
    """Create or update every resource in the workbook; publish them directly with ``publish``.

    Unchanged resources are a no-op whatever their status; another provider's resources are skipped
    with one notice (a department officer may import the whole published catalogue); an edit of a
    published resource by anyone but the admin becomes a change request for the bureau."""
    authorize(principal, "catalog.edit")
    if publish:
        authorize(principal, "catalog.publish_direct")
    resources, errors, sheet, warnings = read_workbook(Path(path))
    report = ImportReport(warnings=warnings)
    admin = records._is_admin(principal)
    others = [p for p in resources if not admin and p[0].provider_code != principal.org_code]
    if others and len(others) == len(resources):
        raise BadInput(f"文件中的 {len(others)} 个资源都不是本单位（{principal.org_name or principal.org_code}）"
                       "提供的，未导入任何资源；只能导入本单位的信息资源", code="not_provider",
                       detail={"skipped": [p[0].code or p[0].name for p in others]})
    if others:
        report.skipped = [p[0].code or p[0].name for p in others]
        report.warnings.append({"code": "other_providers_skipped", "count": len(others),
                                "message": f"已跳过 {len(others)} 个其他单位提供的资源（只能导入本单位的信息资源）"})
        skip = {id(p) for p in others}
        resources = [p for p in resources if id(p) not in skip]
    if not errors:
        for res, g, field_rows in resources:
            try:
                records.normalise(res)
            except BadInput as exc:
                errors += _map_problems(exc, sheet, g, field_rows)
    if errors:
        _raise(errors)
    for res, g, field_rows in resources:
        try:
            existing = records.find_resource(session, res.code) if res.code else None
            if existing is None:
                out = records.create_resource(session, principal, res)
                report.created.append(out.code)
            else:
                if not g.keywords_given:
                    res = res.model_copy(update={"keywords": existing.keywords})
                changed = records.changes(session, existing.code, res)
                if not changed:
                    report.unchanged.append(existing.code)
                    out = existing
                elif existing.status == "published" and not admin:
                    review.request_change(session, principal, existing.code, res)
                    header = ATTRIBUTE_COLUMNS.get(changed[0], "信息资源名称")
                    row = _changed_field_row(existing, res, field_rows) if header == "信息项名称" else None
                    cell = CellError(sheet, row or g.rows_of.get(header, g.first_row), _col(header), header,
                                     "change_requested", "已发布的资源被修改：已提交变更申请（"
                                     + "、".join(ATTRIBUTE_LABELS.get(c, c) for c in changed)
                                     + "），大数据局审核通过后生效")
                    report.change_requests.append({**cell.as_dict(), "resource": existing.code, "changed": changed})
                    continue
                else:
                    out = records.update_resource(session, principal, existing.code, res)
                    report.updated.append(out.code)
            if publish and out.status != "published":
                review.publish_direct(session, principal, out.code)
                report.published.append(out.code)
        except CitybaseError as exc:
            errors.append(CellError(sheet, g.first_row, _col("信息资源名称"), "信息资源名称", exc.code, exc.message))
    if errors:
        _raise(errors)
    audit.record(session, principal, "catalog.import", "catalog_file", path.name,
                 {"sm3": sm3_hex(Path(path).read_bytes()), "created": len(report.created),
                  "updated": len(report.updated), "unchanged": len(report.unchanged),
                  "change_requests": len(report.change_requests), "skipped": len(report.skipped),
                  "published": len(report.published)})
    return report


def _changed_field_row(before: ResourceOut, after: ResourceIn, field_rows: list[int]) -> int | None:
    """The sheet row of the first 信息项 that differs (None when only the count changed past the rows)."""
    keep = set(FieldIn.model_fields) - {"position"}
    for i, f in enumerate(after.fields):
        old = before.fields[i].model_dump(include=keep) if i < len(before.fields) else None
        if old != f.model_dump(include=keep) and i < len(field_rows):
            return field_rows[i]
    return field_rows[-1] if field_rows else None


def _raise(errors: list[CellError]) -> None:
    errors.sort(key=lambda e: (e.row, COLUMNS.index(e.header) if e.header in COLUMNS else 99))
    first = errors[0].as_dict()
    raise BadInput(f"导入文件有 {len(errors)} 处错误，未导入任何资源。第一处：{first['where']}：{first['message']}",
                   code="catalog_import_invalid", detail={"errors": [e.as_dict() for e in errors[:500]],
                                                          "count": len(errors)})


def import_xlsx(session: Session, principal: Principal, path: Path, *, publish: bool = False) -> ImportReport:
    """:func:`import_catalog` under the service's name for it."""
    return import_catalog(session, principal, path, publish=publish)
