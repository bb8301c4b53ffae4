"""Shapes of the lake's contract: stored versions and SQL sources."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Mode = Literal["replace", "append", "upsert"]
Encoding = Literal["auto", "utf-8", "gbk", "gb18030"]

MODE_LABELS = {"replace": "全量替换", "append": "追加", "upsert": "按主键更新"}


class VersionOut(BaseModel):
    """One immutable version of a resource's data."""

    model_config = ConfigDict(from_attributes=True)

    resource_code: str
    number: int
    row_count: int
    columns: list[str]
    created_at: datetime
    created_by: str
    source: str
    source_label: str = ""
    input_sm3: str = ""
    input_bytes: int = 0
    encoding: str = ""
    mode: str
    rows_added: int = 0
    rows_removed: int = 0
    rows_changed: int = 0
    duration_ms: int = 0
    is_current: bool = False
    warnings: list[dict[str, Any]] = []
    path: str = ""

    @property
    def mode_label(self) -> str:
        return MODE_LABELS.get(self.mode, self.mode)


class DiffOut(BaseModel):
    resource_code: str
    old: int | None
    new: int
    key: list[str]
    rows_added: int
    rows_removed: int
    rows_changed: int
    samples: dict[str, list[dict[str, Any]]] = {}


class SqlSourceIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    url: str = Field(min_length=3, max_length=1000)
    query: str = Field(min_length=6, max_length=20000)
    mode: Mode = "replace"
    timeout_s: int = Field(default=300, ge=1, le=86400)
    enabled: bool = True


class SqlSourceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    resource_code: str
    url_masked: str
    query: str
    mode: str
    timeout_s: int
    enabled: bool
    last_run_at: datetime | None = None
    last_status: str = ""
    last_error: str = ""
    last_version: int | None = None


class IngestJobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    resource_code: str
    status: str
    progress: int
    message: str
    filename: str
    version_number: int | None = None
    error: dict[str, Any] | None = None
    created_by: str
    created_at: datetime
    finished_at: datetime | None = None


class Preview(BaseModel):
    """What the wizard shows before loading: detected format, encoding, columns and the mapping."""

    filename: str
    format: str
    encoding: str
    sheets: list[str] = []
    source_columns: list[str]
    sample_rows: list[list[Any]] = []
    mapping: dict[str, str | None]  # source column → 信息项 name (None: not loaded)
    unmapped_fields: list[str] = []
    warnings: list[dict[str, Any]] = []
