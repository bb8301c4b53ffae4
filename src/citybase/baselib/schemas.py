from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class SourceIn(BaseModel):
    resource_code: str = Field(min_length=1, max_length=64)
    key_field: str = Field(min_length=1, max_length=64)
    attr_map: dict[str, str]
    priority: int = Field(default=50, ge=0, le=1000)


class SourceOut(SourceIn):
    id: int
    library: str
    resource_name: str = ""
    active: bool = True


class BuildOut(BaseModel):
    library: str
    number: int
    built_at: datetime
    built_by: str
    reason: str
    row_count: int
    rejected_keys: int
    lake_version: int | None
    sources: list[dict[str, Any]]
    winners: dict[str, dict[str, int]]
    coverage: dict[str, dict[str, Any]]
    conflicts: dict[str, int]
    duration_ms: int


class LibraryStatus(BaseModel):
    key: str
    name: str
    summary: str
    resource_code: str | None
    stale: bool
    stale_reason: str
    sources: int
    last_build: BuildOut | None
    key_attributes: list[str] = []  # the attributes whose coverage the overview charts
