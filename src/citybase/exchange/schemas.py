"""Shapes of the exchange API: requests, approvals, grants, the access log, subscriptions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Op = Literal["=", "in", "between", "prefix"]

REQUEST_STATES: dict[str, str] = {"pending": "待审批", "approved": "已批准", "rejected": "已驳回",
                                  "withdrawn": "已撤回"}
GRANT_STATES: dict[str, str] = {"active": "有效", "revoked": "已撤销", "expired": "已过期"}
OP_LABELS: dict[str, str] = {"=": "等于", "in": "属于", "between": "介于", "prefix": "以…开头"}
CHANNEL_LABELS: dict[str, str] = {"query": "接口查询", "csv": "CSV 导出", "parquet": "Parquet 导出",
                                  "subscription": "属地回流"}


class Condition(BaseModel):
    """One row-filter condition: a 信息项, an operator and a value (never SQL)."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(min_length=1, max_length=63)
    op: Op = "="
    value: Any = None


class RequestIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    resource_code: str = Field(min_length=1, max_length=64)
    fields: list[str] = []  # empty: every 信息项
    clear_fields: list[str] = []  # 信息项 asked for in clear (must be justified by the legal basis)
    row_filter: list[Condition] = []
    purpose: str = Field(min_length=4, max_length=2000)
    legal_basis: str = Field(min_length=2, max_length=2000)
    period_days: int = Field(default=365, ge=1, le=1095)


class ApproveIn(BaseModel):
    """The provider may narrow what was asked: fewer fields, fewer clear fields, more conditions, a shorter period."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    fields: list[str] | None = None
    clear_fields: list[str] | None = None
    row_filter: list[Condition] | None = None
    period_days: int | None = Field(default=None, ge=1, le=1095)
    rate_limit_per_minute: int = Field(default=60, ge=1, le=6000)
    comment: str = Field(default="", max_length=2000)


class RejectIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    reason: str = Field(min_length=2, max_length=2000)


class RevokeIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    reason: str = Field(default="", max_length=2000)


class SubscribeIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    resource_code: str = Field(min_length=1, max_length=64)
    filter_field: str | None = None  # the division-code (or district) 信息项; found automatically when omitted


class RequestOut(BaseModel):
    id: int
    resource_code: str
    resource_name: str = ""
    provider_code: str
    provider_name: str = ""
    consumer_code: str
    consumer_name: str = ""
    requested_by: str
    fields: list[str]
    clear_fields: list[str]
    row_filter: list[dict[str, Any]]
    purpose: str
    legal_basis: str
    period_days: int
    status: str
    status_label: str
    submitted_at: datetime
    due_at: datetime
    due_date: str
    workdays_left: int | None = None
    overdue: bool = False
    decided_at: datetime | None = None
    decided_by: str | None = None
    decision_reason: str = ""
    in_time: bool | None = None
    grant_id: int | None = None
    field_labels: dict[str, str] = {}


class GrantOut(BaseModel):
    id: int
    resource_code: str
    resource_name: str = ""
    provider_code: str
    provider_name: str = ""
    consumer_code: str
    consumer_name: str = ""
    request_id: int | None
    fields: list[str]
    clear_fields: list[str]
    row_filter: list[dict[str, Any]]
    purpose: str
    legal_basis: str
    expires_at: datetime
    rate_limit_per_minute: int
    status: str
    status_label: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    revoke_reason: str = ""
    field_labels: dict[str, str] = {}


class AccessOut(BaseModel):
    id: int
    ts: datetime
    resource_code: str
    consumer_code: str
    consumer_name: str = ""
    actor: str
    grant_id: int | None
    channel: str
    version: int
    fields: list[str]
    clear_fields: list[str]
    row_count: int
    purpose: str


class SubscriptionOut(BaseModel):
    id: int
    resource_code: str
    resource_name: str = ""
    subscriber_code: str
    subscriber_name: str = ""
    district_code: str
    filter_field: str
    target_code: str | None
    grant_id: int | None
    status: str
    created_at: datetime
    last_version: int | None


class NotificationOut(BaseModel):
    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None


class QueryPage(BaseModel):
    resource_code: str
    version: int
    grant_id: int | None
    access: str  # grant | implicit
    fields: list[str]
    masked_fields: list[str]
    clear_fields: list[str]
    items: list[dict[str, Any]]
    next_cursor: str | None
