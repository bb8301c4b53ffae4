"""Input and output shapes of the IoT module."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

SEVERITIES = ("CRITICAL", "MAJOR", "MINOR", "WARNING")
SEVERITY_RANK = {s: i for i, s in enumerate(reversed(SEVERITIES), start=1)}  # WARNING 1 … CRITICAL 4
SEVERITY_LABELS = {"CRITICAL": "紧急", "MAJOR": "重要", "MINOR": "次要", "WARNING": "提示"}
STATUS_LABELS = {"ACTIVE_UNACK": "未确认", "ACTIVE_ACK": "已确认", "CLEARED": "已清除"}
ATTRIBUTE_SCOPES = ("static", "shared", "reported")
OPS = (">", ">=", "<", "<=", "==", "!=")
KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{0,39}$")


class Quantity(BaseModel):
    key: str
    label: str
    unit: str = ""  # a UCUM code (Cel, ug/L); shown through standards.units
    min: float | None = None
    max: float | None = None
    states: dict[str, str] = Field(default_factory=dict)  # a switch's values by name: {"0": "关", "1": "开"}

    @field_validator("key")
    @classmethod
    def _key(cls, v: str) -> str:
        if not KEY_RE.match(v):
            raise ValueError("量值键只能用字母开头的字母、数字、_ . -，最长 40")
        return v


class Condition(BaseModel):
    quantity: str
    op: Literal[">", ">=", "<", "<=", "==", "!="]
    value: float
    rate: bool = False  # compare the rate of change per minute instead of the value


class Rule(BaseModel):
    key: str  # the alarm type
    name: str
    severity: Literal["CRITICAL", "MAJOR", "MINOR", "WARNING"] = "MAJOR"
    kind: Literal["threshold", "offline"] = "threshold"
    logic: Literal["AND", "OR"] = "AND"
    conditions: list[Condition] = Field(default_factory=list)
    duration_s: int = Field(0, ge=0)
    repeat: int = Field(1, ge=1)
    clear_logic: Literal["AND", "OR"] = "AND"
    clear_conditions: list[Condition] = Field(default_factory=list)
    clear_after_silence_s: int | None = Field(None, ge=1)
    offline_factor: float = Field(3.0, gt=0)
    order_type: str | None = None  # work-order problem type (events module), e.g. BJ0103

    @model_validator(mode="after")
    def _check(self) -> Rule:
        if not KEY_RE.match(self.key):
            raise ValueError("规则类型键只能用字母开头的字母、数字、_ . -")
        if self.kind == "threshold" and not self.conditions:
            raise ValueError("阈值规则至少需要一个条件")
        return self


class ProfileIn(BaseModel):
    name: str
    label: str
    device_type: str
    component_class: str = ""
    org_code: str
    quantities: list[Quantity]
    rules: list[Rule] = Field(default_factory=list)
    interval_s: int = Field(300, ge=1)
    raw_retention_days: int = Field(90, ge=1)
    agg_retention_days: int = Field(1825, ge=1)
    order_severity: Literal["CRITICAL", "MAJOR", "MINOR", "WARNING"] | None = None
    open_type: Literal["无条件开放", "有条件开放", "不予开放"] = "不予开放"

    @model_validator(mode="after")
    def _check(self) -> ProfileIn:
        keys = {q.key for q in self.quantities}
        if len(keys) != len(self.quantities):
            raise ValueError("量值键重复")
        for r in self.rules:
            for c in r.conditions + r.clear_conditions:
                if c.quantity not in keys:
                    raise ValueError(f"规则 {r.key} 引用了未声明的量值 {c.quantity}")
        if len({r.key for r in self.rules}) != len(self.rules):
            raise ValueError("规则类型重复")
        return self


class ProfileOut(ProfileIn):
    id: int
    resource_code: str | None = None
    device_count: int = 0


class DeviceIn(BaseModel):
    code: str
    name: str = ""
    profile: str
    lon: float
    lat: float
    org_code: str | None = None
    address: str = ""
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)  # static attributes


class DeviceOut(BaseModel):
    id: int
    code: str
    name: str
    profile: str
    profile_label: str
    org_code: str
    lon: float
    lat: float
    district_code: str | None
    street_code: str | None
    grid_code: str | None
    address: str
    status: str
    state: str  # online | offline | alarm | never | revoked
    token_prefix: str
    mqtt_username: str | None
    last_seen: datetime | None
    created_at: datetime


class DeviceCreated(BaseModel):
    device: DeviceOut
    token: str


class AlarmOut(BaseModel):
    id: int
    device_id: int
    device_code: str
    device_name: str
    type: str
    name: str
    severity: str
    severity_label: str
    status: str
    status_label: str
    started_at: datetime
    last_at: datetime
    cleared_at: datetime | None
    acked_at: datetime | None
    acked_by: str | None
    cleared_by: str | None
    clear_reason: str | None
    repeat_count: int
    detail: dict[str, Any]
    order_state: str
    order_number: str | None


class IngestResult(BaseModel):
    accepted: int = 0
    duplicates: int = 0
    flagged: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = Field(default_factory=list)
