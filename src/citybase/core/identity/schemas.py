from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class OrgIn(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=120)
    kind: str
    parent_code: str | None = None
    division_code: str | None = Field(default=None, max_length=12)


class OrgOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    kind: str
    parent_code: str | None
    division_code: str | None
    active: bool


class UserIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    org_code: str
    role: str
    password: str | None = Field(default=None, max_length=200)
    display_name: str | None = Field(default=None, max_length=64)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    username: str
    display_name: str
    org_code: str
    role: str
    active: bool
    created_at: datetime


class TokenIn(BaseModel):
    username: str
    name: str = Field(default="", max_length=80)
    expires_days: int | None = None


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="只显示这一次，请妥善保存")


class Me(BaseModel):
    username: str
    display_name: str
    role: str
    role_label: str
    org_code: str | None
    org_name: str
    via: str
