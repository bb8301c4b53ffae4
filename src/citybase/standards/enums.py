"""Controlled vocabularies: sharing and opening attributes, data grades, data elements."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "DataElement",
    "DataGrade",
    "OpenType",
    "Sensitivity",
    "ShareType",
    "parse_open_type",
    "parse_share_type",
]


class ShareType(StrEnum):
    """共享属性 (国发〔2016〕51号): 以共享为原则、不共享为例外."""

    UNCONDITIONAL = "无条件共享"
    CONDITIONAL = "有条件共享"
    NONE = "不予共享"  # needs a legal or policy basis


class OpenType(StrEnum):
    """开放属性."""

    UNCONDITIONAL = "无条件开放"
    CONDITIONAL = "有条件开放"
    NONE = "不予开放"


class DataGrade(StrEnum):
    """GB/T 43697-2024 data grades (核心数据 > 重要数据 > 一般数据)."""

    GENERAL = "一般数据"
    IMPORTANT = "重要数据"
    CORE = "核心数据"

    @property
    def rank(self) -> int:
        """1 for 一般数据 … 3 for 核心数据 (higher is more protected)."""
        return _GRADE_RANK[self]


_GRADE_RANK = {DataGrade.GENERAL: 1, DataGrade.IMPORTANT: 2, DataGrade.CORE: 3}


class Sensitivity(StrEnum):
    """Provincial sensitivity levels within 一般数据 (e.g. Zhejiang DB33/T 2350)."""

    L1 = "L1"
    L2 = "L2"
    L3 = "L3"
    L4 = "L4"

    @property
    def label(self) -> str:
        """Chinese label: 不敏感 / 低敏感 / 较敏感 / 敏感."""
        return _SENSITIVITY_LABELS[self]

    @property
    def level(self) -> int:
        """1 … 4."""
        return int(self.value[1])

    @property
    def openable(self) -> str:
        """Opening rule of thumb: L1 opened; L2/L3 only de-identified with approval; L4 never."""
        return _SENSITIVITY_OPEN[self]


_SENSITIVITY_LABELS = {
    Sensitivity.L1: "不敏感",
    Sensitivity.L2: "低敏感",
    Sensitivity.L3: "较敏感",
    Sensitivity.L4: "敏感",
}
_SENSITIVITY_OPEN = {
    Sensitivity.L1: "可开放",
    Sensitivity.L2: "脱敏并经审批后开放",
    Sensitivity.L3: "脱敏并经审批后开放",
    Sensitivity.L4: "不予开放",
}


class DataElement(StrEnum):
    """Data-element standards a column can be bound to (drives validation and masking)."""

    CN_ID_CARD = "cn_id_card"
    USCC = "uscc"
    ORG_CODE = "org_code"
    MOBILE = "mobile"
    DIVISION_CODE = "division_code"
    POSTCODE = "postcode"
    DATE = "date"
    ENUM = "enum"
    TEXT = "text"

    @property
    def label(self) -> str:
        """Chinese label, e.g. 居民身份证号码."""
        return _ELEMENT_LABELS[self]


_ELEMENT_LABELS = {
    DataElement.CN_ID_CARD: "居民身份证号码",
    DataElement.USCC: "统一社会信用代码",
    DataElement.ORG_CODE: "组织机构代码",
    DataElement.MOBILE: "手机号码",
    DataElement.DIVISION_CODE: "行政区划代码",
    DataElement.POSTCODE: "邮政编码",
    DataElement.DATE: "日期",
    DataElement.ENUM: "枚举值",
    DataElement.TEXT: "文本",
}

_OPEN_ALIASES = {
    "受限开放": OpenType.CONDITIONAL,
    "禁止开放": OpenType.NONE,
    "非开放": OpenType.NONE,
    "不开放": OpenType.NONE,
}
_SHARE_ALIASES = {
    "不共享": ShareType.NONE,
    "非共享": ShareType.NONE,
    "禁止共享": ShareType.NONE,
    "受限共享": ShareType.CONDITIONAL,
}


def _clean(text: object) -> str:
    return "".join(str(text).split()) if text is not None else ""


def parse_open_type(text: str | OpenType) -> OpenType:
    """Map a label (or alias: 受限开放 → 有条件开放; 禁止开放/非开放 → 不予开放) to OpenType."""
    if isinstance(text, OpenType):
        return text
    s = _clean(text)
    for member in OpenType:
        if s in (member.value, member.name, member.name.lower()):
            return member
    if s in _OPEN_ALIASES:
        return _OPEN_ALIASES[s]
    raise ValueError(f"未知的开放属性：{text!r}（应为 无条件开放、有条件开放 或 不予开放）")


def parse_share_type(text: str | ShareType) -> ShareType:
    """Map a label (or alias such as 不共享 → 不予共享) to ShareType."""
    if isinstance(text, ShareType):
        return text
    s = _clean(text)
    for member in ShareType:
        if s in (member.value, member.name, member.name.lower()):
            return member
    if s in _SHARE_ALIASES:
        return _SHARE_ALIASES[s]
    raise ValueError(f"未知的共享属性：{text!r}（应为 无条件共享、有条件共享 或 不予共享）")
