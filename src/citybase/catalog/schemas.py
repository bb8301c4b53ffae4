"""Input and output shapes of the catalogue (the cross-module contract)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DataType = Literal["string", "integer", "decimal", "date", "datetime", "boolean"]
ElementName = Literal["cn_id_card", "uscc", "org_code", "mobile", "division_code", "postcode", "date",
                      "enum", "text"]
Grading = Literal["L1", "L2", "L3", "L4"]
CatalogType = Literal["基础", "主题", "部门"]
ShareType = Literal["无条件共享", "有条件共享", "不予共享"]
OpenType = Literal["无条件开放", "有条件开放", "不予开放"]
UpdateCycle = Literal["实时", "每日", "每周", "每月", "每季度", "每年", "不定期"]
Status = Literal["draft", "submitted", "returned", "published", "withdrawn"]

DATA_TYPES: dict[str, str] = {"string": "字符串", "integer": "整数", "decimal": "小数", "date": "日期",
                              "datetime": "日期时间", "boolean": "布尔"}
ELEMENT_LABELS: dict[str, str] = {
    "cn_id_card": "居民身份证号码", "uscc": "统一社会信用代码", "org_code": "组织机构代码",
    "mobile": "手机号码", "division_code": "行政区划代码", "postcode": "邮政编码", "date": "日期",
    "enum": "枚举值", "text": "自由文本",
}
GRADING_LABELS: dict[str, str] = {"L1": "L1 不敏感", "L2": "L2 低敏感", "L3": "L3 较敏感", "L4": "L4 敏感"}
CATALOG_TYPES: dict[str, str] = {"1": "基础", "2": "主题", "3": "部门"}
SHARE_TYPES = ("无条件共享", "有条件共享", "不予共享")
OPEN_TYPES = ("无条件开放", "有条件开放", "不予开放")
UPDATE_CYCLES = ("实时", "每日", "每周", "每月", "每季度", "每年", "不定期")
STATUS_LABELS: dict[str, str] = {"draft": "草稿", "submitted": "待审核", "returned": "已退回",
                                 "published": "已发布", "withdrawn": "已撤回"}


class FieldIn(BaseModel):
    """One 信息项."""

    model_config = ConfigDict(str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=63)
    label: str = Field(min_length=1, max_length=100)
    data_type: DataType = "string"
    element: ElementName = "text"
    grading: Grading = "L1"
    nullable: bool = True
    is_key: bool = False
    enum_values: list[str] = []
    position: int = 0


class FieldOut(FieldIn):
    model_config = ConfigDict(from_attributes=True)


class ResourceIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    code: str | None = None
    name: str = Field(min_length=1, max_length=200)
    summary: str = ""
    class_code: str
    class_name: str = ""
    catalog_type: CatalogType | None = None  # derived from the first digit of class_code when omitted
    provider_code: str
    format: str = ""
    share_type: ShareType = "有条件共享"
    share_condition: str = ""
    share_method: str = ""
    share_basis: str = ""
    open_type: OpenType = "不予开放"
    open_condition: str = ""
    update_cycle: UpdateCycle = "不定期"
    publish_date: date | None = None
    related_codes: list[str] = []
    keywords: list[str] = []
    fields: list[FieldIn] = []


class ResourceOut(ResourceIn):
    model_config = ConfigDict(from_attributes=True)

    code: str  # type: ignore[assignment]
    catalog_type: CatalogType  # type: ignore[assignment]
    id: int
    provider_name: str = ""
    status: Status
    review_comment: str = ""
    created_by: str = ""
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None = None
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    published_at: datetime | None = None
    fields: list[FieldOut] = []  # type: ignore[assignment]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def personal_fields(self) -> list[FieldOut]:
        return [f for f in self.fields if f.grading in ("L3", "L4")]

    @property
    def key_fields(self) -> list[str]:
        return [f.name for f in self.fields if f.is_key]


class ReviewIn(BaseModel):
    approve: bool
    comment: str = ""


class SearchResult(BaseModel):
    items: list[ResourceOut]
    total: int
    page: int = 1
    size: int = 20
    facets: dict[str, list[dict[str, Any]]] = {}

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


class ImportReport(BaseModel):
    created: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    published: list[str] = []
    change_requests: list[dict[str, Any]] = []  # edits of published resources sent to the bureau
    skipped: list[str] = []  # resources of other providers
    warnings: list[dict[str, Any]] = []
