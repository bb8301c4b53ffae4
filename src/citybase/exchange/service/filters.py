"""Row filters (信息项, operator, value): validated against the resource, bound as parameters, described in Chinese; which 信息项 are masked."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from citybase.core.errors import BadInput
from citybase.exchange.schemas import (
    Condition,
)
from citybase.exchange.service.common import MAX_IN_VALUES
from citybase.standards.masking import field_mask_kind
from citybase.standards.sql import quote_ident


def mask_kind(f: Any) -> str | None:
    """How a 信息项 is masked when shared (None: served as stored): the platform's one policy."""
    return field_mask_kind(f)


def _field_map(res: Any) -> dict[str, Any]:
    return {f.name: f for f in res.fields}


def _check_names(res: Any, names: list[str], what: str) -> list[str]:
    known = _field_map(res)
    out: list[str] = []
    for n in names:
        n = str(n).strip()
        if n not in known:
            raise BadInput(f"{what}中的信息项“{n}”不属于资源 {res.code}", code="unknown_field",
                           detail={"field": n, "allowed": list(known)})
        if n not in out:
            out.append(n)
    return out


def _coerce(f: Any, value: Any) -> Any:
    """A filter value as the 信息项's data type (bound as a parameter, never pasted into SQL)."""
    if isinstance(value, (dict, list)) or value is None:
        raise ValueError("value")
    dt = f.data_type
    if dt == "integer":
        if isinstance(value, bool):
            raise ValueError("bool")
        return int(str(value).strip())
    if dt == "decimal":
        if isinstance(value, bool):
            raise ValueError("bool")
        return float(Decimal(str(value).strip()))
    if dt == "date":
        return date.fromisoformat(str(value).strip()[:10])
    if dt == "datetime":
        v = datetime.fromisoformat(str(value).strip())
        return v.replace(tzinfo=None) if v.tzinfo is None else v.astimezone(UTC).replace(tzinfo=None)
    if dt == "boolean":
        if isinstance(value, bool):
            return value
        s = str(value).strip().lower()
        if s in ("true", "1", "是", "yes"):
            return True
        if s in ("false", "0", "否", "no"):
            return False
        raise ValueError("bool")
    s = str(value)
    if len(s) > 200:
        raise ValueError("long")
    return s


def validate_filter(res: Any, conditions: list[Condition] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Check every condition against the resource's 信息项 and coerce its values; returns plain dicts."""
    known = _field_map(res)
    if len(conditions) > 20:
        raise BadInput("筛选条件最多 20 条", code="too_many_conditions")
    out: list[dict[str, Any]] = []
    for i, c in enumerate(conditions):
        try:
            cond = c if isinstance(c, Condition) else Condition.model_validate(c)
        except Exception as exc:  # noqa: BLE001 - pydantic ValidationError or a non-dict
            raise BadInput(f"第 {i + 1} 条筛选条件格式不正确：须为 {{field, op, value}}，op 取 =、in、between、prefix",
                           code="bad_filter", detail={"index": i}) from exc
        f = known.get(cond.field)
        if f is None:
            raise BadInput(f"筛选条件中的信息项“{cond.field}”不属于资源 {res.code}", code="unknown_field",
                           detail={"field": cond.field, "allowed": list(known)})
        try:
            if cond.op == "=":
                value: Any = _coerce(f, cond.value)
            elif cond.op == "in":
                if not isinstance(cond.value, list) or not 1 <= len(cond.value) <= MAX_IN_VALUES:
                    raise ValueError("in")
                value = [_coerce(f, v) for v in cond.value]
            elif cond.op == "between":
                if not isinstance(cond.value, list) or len(cond.value) != 2:
                    raise ValueError("between")
                value = [_coerce(f, v) for v in cond.value]
            else:  # prefix: text match on the value as stored
                value = str(cond.value if cond.value is not None else "")
                if not value or len(value) > 64 or isinstance(cond.value, (dict, list)):
                    raise ValueError("prefix")
        except (ValueError, TypeError, InvalidOperation) as exc:
            hint = {"in": "一个非空列表", "between": "两个值组成的列表"}.get(cond.op, f"一个{f.data_type}类型的值")
            raise BadInput(f"筛选条件“{f.label}”的取值不正确：应为{hint}", code="bad_filter_value",
                           detail={"field": cond.field, "op": cond.op}) from exc
        out.append({"field": cond.field, "op": cond.op, "value": value})
    return out


def _jsonable_filter(conds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def v(x: Any) -> Any:
        return x.isoformat() if isinstance(x, (date, datetime)) else x

    return [{"field": c["field"], "op": c["op"],
             "value": [v(x) for x in c["value"]] if isinstance(c["value"], list) else v(c["value"])} for c in conds]


def _where(conds: list[dict[str, Any]]) -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    for c in conds:
        col = quote_ident(c["field"])
        if c["op"] == "=":
            parts.append(f"{col} = ?")
            params.append(c["value"])
        elif c["op"] == "in":
            parts.append(f"{col} IN ({', '.join('?' for _ in c['value'])})")
            params += list(c["value"])
        elif c["op"] == "between":
            parts.append(f"{col} BETWEEN ? AND ?")
            params += list(c["value"])
        else:
            parts.append(f"starts_with(CAST({col} AS VARCHAR), ?)")
            params.append(c["value"])
    return (" AND ".join(parts) or "TRUE"), params


def describe_filter(res: Any, conds: list[dict[str, Any]]) -> str:
    """The row filter in words (for pages)."""
    from citybase.exchange.schemas import OP_LABELS

    labels = {f.name: f.label for f in res.fields} if res is not None else {}
    out = []
    for c in conds:
        v = c["value"]
        text = "、".join(str(x) for x in v) if isinstance(v, list) else str(v)
        if c["op"] == "between" and isinstance(v, list):
            text = f"{v[0]} 至 {v[1]}"
        out.append(f"{labels.get(c['field'], c['field'])} {OP_LABELS.get(c['op'], c['op'])} {text}")
    return "；".join(out) or "全部数据行"
