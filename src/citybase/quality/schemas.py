"""Shapes of quality reports, rules, conflicts and objections."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RuleType = Literal["not_null", "unique", "regex", "between", "in_set", "length", "id_consistency", "referential",
                   "freshness", "element"]
OBJECTION_STATUS = {"open": "待答复", "accepted": "已采纳（待修正）", "rejected": "已驳回", "fixed": "已修正"}
SCOPES = {"resource": "整个资源", "row": "某条记录", "field": "某个信息项"}


class QualityReport(BaseModel):
    """A stored evaluation of one version; ``as_gx()`` is the Great-Expectations-shaped result."""

    resource_code: str
    version_number: int
    created_at: datetime
    success: bool
    score: float | None
    scores: dict[str, float]
    row_count: int
    failed_rules: int
    duration_ms: int = 0
    body: dict[str, Any]

    def as_gx(self) -> dict[str, Any]:
        return self.body

    @property
    def results(self) -> list[dict[str, Any]]:
        return self.body.get("results", [])

    @property
    def statistics(self) -> dict[str, Any]:
        return self.body.get("statistics", {})


class RuleIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    rule_type: RuleType
    columns: list[str] = Field(default_factory=list, max_length=10)
    params: dict[str, Any] = Field(default_factory=dict)
    label: str = Field(default="", max_length=200)


class RuleOut(BaseModel):
    key: str
    id: int | None = None
    rule_type: str
    type_label: str
    columns: list[str]
    params: dict[str, Any]
    dimension: str
    dimension_label: str
    description: str
    gx_type: str
    source: str


class ConflictMember(BaseModel):
    resource_code: str
    key_column: str
    value_column: str
    priority: int = Field(default=1, ge=1, le=99)


class ConflictSetIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=120)
    key_label: str = Field(default="公民身份号码", max_length=60)
    key_element: str = "cn_id_card"
    value_element: str = "text"
    members: list[ConflictMember] = Field(min_length=2, max_length=10)


class ConflictSetOut(ConflictSetIn):
    id: int
    created_by: str
    created_at: datetime


class ConflictRow(BaseModel):
    key: str  # masked
    values: list[dict[str, Any]]  # [{resource_code, resource_name, provider_name, value (masked), priority, wins}]
    winner: str | None


class ConflictReport(BaseModel):
    set: ConflictSetOut
    keys_compared: int
    conflicts: int
    rows: list[ConflictRow]


class ObjectionIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    resource_code: str
    scope: Literal["resource", "row", "field"] = "resource"
    row_key: str = Field(default="", max_length=200)
    field_name: str = Field(default="", max_length=64)
    description: str = Field(min_length=2, max_length=4000)
    evidence: str = Field(default="", max_length=8000)
    version_number: int | None = None


class ObjectionEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str
    note: str


class ObjectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    resource_code: str
    resource_name: str = ""
    provider_code: str
    version_number: int | None
    scope: str
    row_key: str
    field_name: str
    field_label: str = ""
    description: str
    evidence: str
    status: str
    raised_by: str
    raised_org: str
    created_at: datetime
    deadline: datetime
    overdue: bool = False
    answer: str
    answered_by: str | None
    answered_at: datetime | None
    fixed_version: int | None
    fixed_at: datetime | None
    events: list[ObjectionEventOut] = []

    @property
    def status_label(self) -> str:
        return OBJECTION_STATUS.get(self.status, self.status)

    @property
    def scope_label(self) -> str:
        return SCOPES.get(self.scope, self.scope)
