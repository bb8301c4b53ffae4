"""Input and output shapes of 一网统管."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from citybase.core.errors import invalid_input

Channel = Literal["hotline", "grid", "public", "api", "open311", "sensor", "superior"]


class PhotoIn(BaseModel):
    filename: str = "photo.jpg"
    content: bytes


def refuse_nul(value: Any) -> Any:
    """A text (or text inside a list or mapping) with U+0000 is refused with a clear error: PostgreSQL
    cannot store it, so the registration would otherwise fail when written."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("不能包含空字符（U+0000）")
    elif isinstance(value, dict):
        for k, v in value.items():
            refuse_nul(k)
            refuse_nul(v)
    elif isinstance(value, list | tuple):
        for v in value:
            refuse_nul(v)
    return value


class IntakeIn(BaseModel):
    channel: Channel
    description: str = Field(min_length=1, max_length=4000)
    type_code: str | None = None
    lon: float | None = Field(default=None, allow_inf_nan=False)
    lat: float | None = Field(default=None, allow_inf_nan=False)
    address: str | None = Field(default=None, max_length=200)
    reporter_name: str | None = Field(default=None, max_length=40)
    reporter_phone: str | None = Field(default=None, max_length=20)
    external_id: str | None = Field(default=None, max_length=80)
    attributes: dict[str, Any] = Field(default_factory=dict)
    photos: list[PhotoIn] = Field(default_factory=list)
    auto_dispatch: bool | None = None  # None: machine channels (api, sensor, open311) dispatch at once
    address_unknown: bool = False  # the caller cannot say where: registered without a place, flagged

    _no_nul = field_validator("*", mode="before")(refuse_nul)


def intake_in(**values: Any) -> IntakeIn:
    """An IntakeIn from a form or an Open311 request: values it refuses (too long, NaN coordinates,
    U+0000…) are a BadInput naming the fields, which those callers show like any other refusal."""
    try:
        return IntakeIn(**values)
    except ValidationError as exc:
        raise invalid_input(exc.errors()) from None


class ProblemTypeIn(BaseModel):
    code: str
    name: str
    kind: Literal["部件", "事件", "12345"]
    major_code: str = ""
    major_name: str = ""
    minor_name: str = ""
    sla_unit: Literal["work_hours", "work_days"] = "work_hours"
    sign_in: float = Field(gt=0, le=1000)
    handle: float = Field(gt=0, le=1000)
    warn_ratio: float = Field(default=0.8, gt=0, lt=1)
    escalation: list[str] = Field(default_factory=lambda: ["street", "district", "city"])
    default_unit_key: str = ""


class EventOut(BaseModel):
    ts: datetime
    actor: str
    action: str
    action_label: str
    from_status: str | None
    to_status: str | None
    note: str
    detail: dict[str, Any]


class OrderOut(BaseModel):
    number: str
    channel: str
    status: str
    status_label: str
    type_code: str | None
    type_name: str
    kind: str
    suggested_type: str | None
    suggested_confidence: float | None
    description: str
    address: str
    lon: float | None
    lat: float | None
    grid_code: str | None
    street_code: str | None
    district_code: str | None
    reporter_name: str  # masked unless the viewer holds the grant
    reporter_phone: str
    external_id: str | None
    attributes: dict[str, Any]
    master_number: str | None
    main_unit: str | None
    assist_units: list[str]
    sla: dict[str, Any]
    reply: str
    received_at: datetime
    dispatched_at: datetime | None
    sign_due_at: datetime | None
    signed_at: datetime | None
    handle_due_at: datetime | None
    closed_at: datetime | None
    overdue: bool
    satisfaction: str | None
    return_count: int
    rework_count: int
    urge_count: int
    escalation_level: int
    pending_extension: dict[str, Any] | None
    duplicates: list[str] = Field(default_factory=list)
    timeline: list[EventOut] = Field(default_factory=list)
    photos: list[int] = Field(default_factory=list)


class ActionIn(BaseModel):
    """The inputs of one step of the flow (see ``service.ACTIONS``); each action reads the ones it needs."""

    reason: str | None = None
    note: str | None = None
    type_code: str | None = None
    main_unit: str | None = None
    assist_units: list[str] = Field(default_factory=list)
    master_number: str | None = None
    passed: bool | None = None
    result: str | None = None
    amount: float | None = None
    approve: bool | None = None


class FormActionIn(ActionIn):
    """An :class:`ActionIn` from the detail page's form, which can carry uploaded photos (feedback)."""

    photos: list[PhotoIn] = Field(default_factory=list)
