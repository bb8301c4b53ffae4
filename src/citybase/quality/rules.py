"""The rule engine: quality rules evaluated vectorised over a whole version.

All column-map rules are counted in ONE pass over the version: DuckDB computes each SQL rule's
flags, and the data-element rules (ID numbers, credit codes, mobiles, division codes, their
standard forms, ID/birth-date/gender agreement) run as NumPy kernels
(:mod:`citybase.standards.vector`) on the Arrow batches of the same scan. Uniqueness and
referential rules need a grouping or a join each; sample failing rows are fetched only for rules
that failed. Results are shaped like Great Expectations validation results."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from citybase.standards import vector
from citybase.standards.masking import field_mask_kind as mask_kind  # noqa: F401 - re-exported
from citybase.standards.masking import mask_value
from citybase.standards.sql import quote_ident, validator_sql

DIMENSIONS = {"completeness": "完整性", "validity": "有效性", "uniqueness": "唯一性", "consistency": "一致性",
              "timeliness": "及时性"}
RULE_TYPES = {
    "not_null": "非空", "unique": "唯一", "regex": "正则匹配", "between": "取值范围", "in_set": "枚举值",
    "length": "长度", "element": "数据元标准", "form": "规范写法", "type": "数据类型", "id_consistency": "身份证号与出生日期/性别一致",
    "referential": "参照完整性", "freshness": "更新及时",
}
DIMENSION_OF = {"not_null": "completeness", "unique": "uniqueness", "regex": "validity", "between": "validity",
                "in_set": "validity", "length": "validity", "element": "validity", "form": "validity",
                "type": "validity", "id_consistency": "consistency", "referential": "consistency",
                "freshness": "timeliness"}
ELEMENT_LABELS = {"cn_id_card": "居民身份证号码", "uscc": "统一社会信用代码", "org_code": "组织机构代码",
                  "mobile": "手机号码", "division_code": "行政区划代码", "postcode": "邮政编码", "date": "日期"}
STANDARD_FORM = {"cn_id_card": "[0-9]{17}[0-9X]", "uscc": "[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}"}
CYCLE_DAYS = {"实时": 1, "每日": 1, "每周": 7, "每月": 31, "每季度": 92, "每年": 366}
SAMPLE_ROWS = 5


@dataclass
class Rule:
    key: str  # stable: "auto:<type>:<cols>" or "rule:<id>"
    type: str
    columns: list[str]
    params: dict[str, Any] = field(default_factory=dict)
    source: str = "auto"  # auto | explicit
    label: str = ""

    @property
    def dimension(self) -> str:
        return self.params.get("dimension") or DIMENSION_OF[self.type]

    @property
    def column(self) -> str | None:
        return self.columns[0] if self.columns else None

    @property
    def gx_type(self) -> str:
        t = self.type
        if t == "not_null":
            return "expect_column_values_to_not_be_null"
        if t == "unique":
            return "expect_compound_columns_to_be_unique" if len(self.columns) > 1 else \
                "expect_column_values_to_be_unique"
        if t == "regex":
            return "expect_column_values_to_match_regex"
        if t == "between":
            return "expect_column_values_to_be_between"
        if t == "in_set":
            return "expect_column_values_to_be_in_set"
        if t == "length":
            return "expect_column_value_lengths_to_be_between"
        if t == "type":
            return "expect_column_values_to_be_of_type"
        if t == "element":
            return f"expect_column_values_to_be_valid_{self.params['element']}"
        if t == "form":
            return f"expect_column_values_to_be_in_standard_form_{self.params['element']}"
        if t == "id_consistency":
            return "expect_cn_id_card_to_agree_with_birth_date_and_gender"
        if t == "referential":
            return "expect_column_values_to_exist_in_resource"
        if t == "freshness":
            return "expect_resource_to_be_updated_within_cycle"
        raise ValueError(t)

    def gx_kwargs(self) -> dict[str, Any]:
        p = {k: v for k, v in self.params.items() if not k.startswith("_") and k != "dimension"}
        if self.type == "unique" and len(self.columns) > 1:
            return {"column_list": list(self.columns), **p}
        if self.type == "id_consistency":
            return {"column": self.columns[0], "birth_date_column": self.columns[1] if len(self.columns) > 1 else None,
                    "gender_column": self.columns[2] if len(self.columns) > 2 else None, **p}
        if self.type == "freshness":
            return dict(p)
        if self.type == "in_set":
            return {"column": self.column, "value_set": p.get("values", []),
                    **{k: v for k, v in p.items() if k != "values"}}
        if self.type == "regex":
            return {"column": self.column, "regex": p.get("pattern", "")}
        if self.type == "type":
            return {"column": self.column, "type_": p.get("data_type", "")}
        return {"column": self.column, **p}

    def describe(self, labels: dict[str, str]) -> str:
        if self.label:
            return self.label
        cols = "、".join(labels.get(c, c) for c in self.columns)
        p = self.params
        t = self.type
        if t == "not_null":
            return f"{cols} 不能为空"
        if t == "unique":
            return f"{cols} 不能重复" if len(self.columns) == 1 else f"（{cols}）组合不能重复"
        if t == "regex":
            return f"{cols} 须符合格式 {p.get('pattern')}"
        if t == "between":
            return f"{cols} 须在 {p.get('min_value', '不限')} 至 {p.get('max_value', '不限')} 之间"
        if t == "in_set":
            return f"{cols} 须为以下取值之一：{'、'.join(map(str, p.get('values', [])))}"
        if t == "length":
            return f"{cols} 长度须在 {p.get('min_value', 0)} 至 {p.get('max_value', '不限')} 之间"
        if t == "element":
            return f"{cols} 须为有效的{ELEMENT_LABELS.get(p.get('element'), p.get('element'))}"
        if t == "form":
            return f"{cols} 须为规范写法（18位、字母大写）"
        if t == "type":
            return f"{cols} 须能解析为{ {'integer': '整数', 'decimal': '小数', 'date': '日期', 'datetime': '日期时间', 'boolean': '布尔值'}.get(p.get('data_type'), p.get('data_type')) }"
        if t == "id_consistency":
            return f"{labels.get(self.columns[0], self.columns[0])} 中的出生日期、性别须与登记的一致"
        if t == "referential":
            return f"{cols} 须存在于资源 {p.get('resource_code')} 的 {p.get('ref_column')} 中"
        if t == "freshness":
            return f"数据须在更新周期（{p.get('update_cycle')}）内更新"
        return t


def _lit(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _txt(col: str) -> str:
    return f"CAST({quote_ident(col)} AS VARCHAR)"


MALE = ("男", "M", "m", "1", "male", "Male", "MALE")
FEMALE = ("女", "F", "f", "2", "0", "female", "Female", "FEMALE")
BATCH_ROWS = 128 * 1024


def map_sql(rule: Rule, derive: Any = None) -> tuple[str, str] | None:
    """(missing, unexpected) boolean SQL for column-map rules; None for rules with their own query
    and for the kernel rules (:func:`is_vector`). ``derive(expr)`` names an expensive expression (a
    standards macro) so that it is expanded and compiled once per evaluation however many rules
    use it."""
    d = derive or (lambda expr: f"({expr})")
    c = rule.column
    p = rule.params
    if rule.type == "not_null":
        return "false", f"({quote_ident(c)} IS NULL OR trim({_txt(c)}) = '')"
    if rule.type in ("unique", "referential", "freshness", "type") or is_vector(rule):
        return None
    missing = f"({quote_ident(c)} IS NULL)"
    if rule.type == "regex":
        ok = f"regexp_full_match({_txt(c)}, {_lit(p['pattern'])})"
    elif rule.type == "between":
        parts = []
        if p.get("min_value") is not None:
            parts.append(f"{quote_ident(c)} >= {_lit(p['min_value'])}")
        if p.get("max_value") is not None:
            parts.append(f"{quote_ident(c)} <= {_lit(p['max_value'])}")
        ok = " AND ".join(parts) or "true"
    elif rule.type == "in_set":
        values = "[" + ", ".join(_lit(str(v)) for v in p.get("values", [])) + "]::VARCHAR[]"
        ok = f"list_contains({values}, {_txt(c)})"
    elif rule.type == "length":
        parts = []
        if p.get("min_value") is not None:
            parts.append(f"length({_txt(c)}) >= {int(p['min_value'])}")
        if p.get("max_value") is not None:
            parts.append(f"length({_txt(c)}) <= {int(p['max_value'])}")
        ok = " AND ".join(parts) or "true"
    elif rule.type == "element":
        ok = d(validator_sql(p["element"], _txt(c), p.get("values")))
    else:  # pragma: no cover
        raise ValueError(rule.type)
    return missing, f"(NOT {missing} AND NOT coalesce({ok}, false))"


@dataclass
class RuleResult:
    rule: Rule
    element_count: int
    missing_count: int
    unexpected_count: int
    samples: list[dict[str, Any]] = field(default_factory=list)  # masked {"row": n, "values": {...}}
    error: str | None = None

    @property
    def evaluated(self) -> int:
        return self.element_count - self.missing_count

    @property
    def unexpected_percent(self) -> float:
        return round(100.0 * self.unexpected_count / self.evaluated, 4) if self.evaluated else 0.0

    @property
    def success(self) -> bool:
        mostly = float(self.rule.params.get("mostly", 1.0) or 1.0)
        if self.error:
            return False
        return self.unexpected_percent <= (1.0 - mostly) * 100.0 + 1e-9 if mostly < 1 else self.unexpected_count == 0

    @property
    def score(self) -> float:
        return max(0.0, 100.0 - self.unexpected_percent)

    def as_gx(self, labels: dict[str, str]) -> dict[str, Any]:
        return {
            "success": self.success,
            "expectation_config": {
                "type": self.rule.gx_type,
                "kwargs": self.rule.gx_kwargs(),
                "meta": {"rule_key": self.rule.key, "rule_type": self.rule.type, "dimension": self.rule.dimension,
                         "dimension_label": DIMENSIONS[self.rule.dimension], "source": self.rule.source,
                         "description": self.rule.describe(labels)},
            },
            "result": {
                "element_count": self.element_count,
                "missing_count": self.missing_count,
                "missing_percent": round(100.0 * self.missing_count / self.element_count, 4)
                if self.element_count else 0.0,
                "unexpected_count": self.unexpected_count,
                "unexpected_percent": self.unexpected_percent,
                "unexpected_percent_total": round(100.0 * self.unexpected_count / self.element_count, 4)
                if self.element_count else 0.0,
                "unexpected_percent_nonmissing": self.unexpected_percent,
                "partial_unexpected_list": [s["values"].get(self.rule.column) for s in self.samples]
                if self.rule.column else [],
                "partial_unexpected_rows": self.samples,
            },
            "exception_info": {"raised_exception": self.error is not None, "exception_message": self.error,
                               "exception_traceback": None},
        }


@dataclass
class Context:
    relation: str  # FROM item with the version's rows and a _row column (1-based)
    row_count: int = 0
    cast_failures: dict[str, int] = field(default_factory=dict)
    updated_at: datetime | None = None
    now: datetime | None = None
    mask_kinds: dict[str, str | None] = field(default_factory=dict)  # column → masking kind (None: clear)
    key_columns: list[str] = field(default_factory=list)
    ref_globs: dict[str, str] = field(default_factory=dict)  # rule key → parquet glob of the referenced version


def mask_row(values: dict[str, Any], kinds: dict[str, str | None]) -> dict[str, Any]:
    out = {}
    for k, v in values.items():
        kind = kinds.get(k)
        if v is None:
            out[k] = None
        elif kind:
            out[k] = mask_value(kind, v)
        else:
            out[k] = v.isoformat() if hasattr(v, "isoformat") else v
    return out


def _sample_columns(ctx: Context, rule: Rule) -> list[str]:
    """What a sample row of ``rule`` shows: the key columns, then the rule's own columns."""
    return list(dict.fromkeys([*ctx.key_columns, *[c for c in rule.columns if c]]))


def _fetch_samples(con: duckdb.DuckDBPyConnection, ctx: Context, rule: Rule, where: str,
                   from_sql: str | None = None) -> list[dict[str, Any]]:
    cols = _sample_columns(ctx, rule)
    sel = ", ".join(["t._row", *[f"t.{quote_ident(c)}" for c in cols]])
    sql = f"SELECT {sel} FROM {from_sql or ctx.relation + ' t'} WHERE {where} ORDER BY t._row LIMIT {SAMPLE_ROWS}"
    out = []
    for row in con.execute(sql).fetchall():
        out.append({"row": int(row[0]), "values": mask_row(dict(zip(cols, row[1:], strict=True)), ctx.mask_kinds)})
    return out


def is_vector(rule: Rule) -> bool:
    """Rules the NumPy kernels evaluate (the others are SQL)."""
    if rule.type == "element":
        return rule.params.get("element") in vector.CHECKS
    if rule.type == "form":
        return rule.params.get("element") in vector.FORMS
    return rule.type == "id_consistency"


def run(con: duckdb.DuckDBPyConnection, rules: list[Rule], ctx: Context) -> list[RuleResult]:
    """Evaluate ``rules`` over ``ctx.relation``. Every column-map rule is counted in ONE scan:

    * the innermost projection computes each expensive standards expression once (``derive``);
    * the middle projection turns each SQL rule into two booleans (missing, unexpected) over those
      columns — conjunctions are cheap there, whereas around a macro they would stop DuckDB from
      sharing its subexpressions and cost 5× more — and hands the kernel rules their columns;
    * with kernel rules, the scan's Arrow batches are counted in NumPy; without, one SQL
      aggregate counts the flags and keeps the first failing row numbers of each rule.

    Sample rows are then fetched by row number in one more scan, only for rules that failed."""
    results: dict[str, RuleResult] = {}
    derived: dict[str, str] = {}

    def derive(expr: str) -> str:
        return derived.setdefault(expr, f"__d{len(derived)}")

    index: list[Rule] = []
    flag_cols: list[str] = []
    kernel_rules = [r for r in rules if is_vector(r)]
    for r in rules:
        m = map_sql(r, derive)
        if m is None:
            continue
        i = len(index)
        index.append(r)
        flag_cols += [f"{m[0]} AS m{i}", f"{m[1]} AS b{i}"]
    inner = f"SELECT t.*{''.join(f', {expr} AS {alias}' for expr, alias in derived.items())} FROM {ctx.relation} t"
    failing: dict[str, list[int]] = {}
    if kernel_rules:
        n = _scan(con, inner, index, flag_cols, kernel_rules, results, failing)
    elif index:
        middle = f"SELECT _row, {', '.join(flag_cols)} FROM ({inner})"
        aggs = ["count(*)"] + [f"count_if(m{i}), count_if(b{i}), min(if(b{i}, _row, NULL), {SAMPLE_ROWS})"
                               for i in range(len(index))]
        row = con.execute(f"SELECT {', '.join(aggs)} FROM ({middle})").fetchone()
        n = int(row[0])
        for i, r in enumerate(index):
            results[r.key] = RuleResult(r, n, int(row[1 + 3 * i]), int(row[2 + 3 * i]))
            if row[2 + 3 * i]:
                failing[r.key] = [int(x) for x in row[3 + 3 * i] or []]
    else:
        n = int(con.execute(f"SELECT count(*) FROM {ctx.relation} t").fetchone()[0])
    if failing:
        by_key = {r.key: r for r in rules}
        _attach_samples(con, ctx, [(by_key[k], rows) for k, rows in failing.items()], results)
    ctx.row_count = n
    for r in rules:
        if r.key in results:
            continue
        try:
            results[r.key] = _special(con, r, ctx, n)
        except duckdb.Error as exc:
            results[r.key] = RuleResult(r, n, 0, 0, error=str(exc).split("\n", 1)[0][:300])
    return [results[r.key] for r in rules]


def _scan(con: duckdb.DuckDBPyConnection, inner: str, index: list[Rule], flag_cols: list[str],
          kernel_rules: list[Rule], results: dict[str, RuleResult], failing: dict[str, list[int]]) -> int:
    """One scan in Arrow batches: SQL rules arrive as flag columns (m<i>, b<i>), kernel rules as
    their input columns. Counts into ``results``; the first failing rows into ``failing``."""
    inputs: dict[str, str] = {}

    def col(expr: str) -> str:
        return inputs.setdefault(expr, f"__k{len(inputs)}")

    plans: list[tuple[Rule, dict[str, str]]] = []
    for r in kernel_rules:
        if r.type == "id_consistency":
            plan = {"id": col(_txt(r.columns[0]))}
            birth = r.columns[1] if len(r.columns) > 1 and r.columns[1] else None
            gender = r.columns[2] if len(r.columns) > 2 and r.columns[2] else None
            if birth:
                plan |= {"birth_null": col(f"({quote_ident(birth)} IS NULL)"), "birth": col(f"TRY_CAST({quote_ident(birth)} AS DATE)")}
            if gender:  # membership worked out by DuckDB's threads
                plan |= {"gender_null": col(f"({quote_ident(gender)} IS NULL)"),
                         "male": col(f"coalesce({_txt(gender)} IN ({', '.join(map(_lit, MALE))}), false)"),
                         "female": col(f"coalesce({_txt(gender)} IN ({', '.join(map(_lit, FEMALE))}), false)")}
        else:
            plan = {"value": col(_txt(r.column))}
        plans.append((r, plan))
    select = ", ".join(["_row", *flag_cols, *[f"{e} AS {a}" for e, a in inputs.items()]])
    con.abort()  # drop what an earlier execute() left unread: the relation API refuses to run after it
    reader = con.sql(f"SELECT {select} FROM ({inner})").to_arrow_reader(BATCH_ROWS)
    counts = {r.key: [0, 0] for r in [*index, *kernel_rules]}
    first: dict[str, list[np.ndarray]] = {}
    n = 0
    for batch in reader:
        n += batch.num_rows
        rows = batch.column("_row").to_numpy(zero_copy_only=False)
        cache: dict[tuple[str, str], vector.Checked] = {}
        for i, r in enumerate(index):
            missing = batch.column(f"m{i}").to_numpy(zero_copy_only=False)
            bad = batch.column(f"b{i}").to_numpy(zero_copy_only=False)
            _count(r, missing, bad, rows, counts, first)
        for r, plan in plans:
            missing, bad = _kernel(r, plan, batch, cache)
            _count(r, missing, bad, rows, counts, first)
    for r in [*index, *kernel_rules]:
        results[r.key] = RuleResult(r, n, counts[r.key][0], counts[r.key][1])
        if first.get(r.key):
            failing[r.key] = sorted(int(x) for x in np.concatenate(first[r.key]))[:SAMPLE_ROWS]
    return n


def _count(r: Rule, missing: np.ndarray, bad: np.ndarray, rows: np.ndarray, counts: dict[str, list[int]],
           first: dict[str, list[np.ndarray]]) -> None:
    c = counts[r.key]
    c[0] += int(np.count_nonzero(missing))
    nbad = int(np.count_nonzero(bad))
    c[1] += nbad
    if nbad:
        first.setdefault(r.key, []).append(rows[np.flatnonzero(bad)[:SAMPLE_ROWS]])


def _kernel(r: Rule, plan: dict[str, str], batch: pa.RecordBatch,
            cache: dict[tuple[str, str], vector.Checked]) -> tuple[np.ndarray, np.ndarray]:
    """(missing, unexpected) of a kernel rule over one batch, as its SQL would count them."""

    def arr(name: str) -> pa.Array:
        return batch.column(plan[name])

    def nulls(name: str) -> np.ndarray:
        return arr(name).is_null().to_numpy(zero_copy_only=False)

    def bools(name: str) -> np.ndarray:
        return arr(name).to_numpy(zero_copy_only=False).astype(bool)

    def checked(element: str, name: str) -> vector.Checked:
        key = (element, plan[name])
        if key not in cache:
            cache[key] = vector.check(element, batch.column(plan[name]))
        return cache[key]

    if r.type == "id_consistency":
        c = checked("cn_id_card", "id")
        missing = ~c.valid
        ok = np.ones(len(c.valid), dtype=bool)
        if "birth" in plan:
            missing |= bools("birth_null")
            days = arr("birth").cast(pa.int32()).fill_null(np.iinfo(np.int32).min).to_numpy()
            ok &= days == c.birth
        if "male" in plan:
            missing |= bools("gender_null")
            ok &= np.where(c.male, bools("male"), bools("female"))
        return missing, ~missing & ~ok
    c = checked(r.params["element"], "value")
    good = c.form if r.type == "form" else c.valid
    missing = nulls("value")
    return missing, ~missing & ~good


def _attach_samples(con: duckdb.DuckDBPyConnection, ctx: Context, failing: list[tuple[Rule, list[int]]],
                    results: dict[str, RuleResult]) -> None:
    """Fetch the sample rows of every failing rule in one scan, masked."""
    wanted = sorted({n for _, rows in failing for n in rows})
    cols = list(dict.fromkeys(c for r, _ in failing for c in _sample_columns(ctx, r)))
    sel = ", ".join(["t._row", *[f"t.{quote_ident(c)}" for c in cols]])
    fetched = {int(row[0]): dict(zip(cols, row[1:], strict=True)) for row in con.execute(
        f"SELECT {sel} FROM {ctx.relation} t WHERE t._row IN ({', '.join(map(str, wanted))})").fetchall()}
    for r, rows in failing:
        keep = _sample_columns(ctx, r)
        results[r.key].samples = [{"row": n, "values": mask_row({c: fetched[n][c] for c in keep}, ctx.mask_kinds)}
                                  for n in rows if n in fetched]


def _special(con: duckdb.DuckDBPyConnection, r: Rule, ctx: Context, n: int) -> RuleResult:
    if r.type == "unique":
        # One grouping gives the missing and duplicate counts and, for the samples, the first
        # SAMPLE_ROWS duplicated keys by first row: the first SAMPLE_ROWS duplicated rows all
        # belong to those keys (each earlier key holds a duplicated row of its own).
        cols = ", ".join(quote_ident(c) for c in r.columns)
        notnull = " AND ".join(f"{quote_ident(c)} IS NOT NULL" for c in r.columns)
        keys = "struct_pack(" + ", ".join(f"{quote_ident(f'k{i}')} := {quote_ident(c)}" for i, c in enumerate(r.columns)) + ")"
        missing, dup, top = con.execute(
            f"SELECT coalesce(sum(c) FILTER (WHERE NOT ({notnull})), 0), "
            f"coalesce(sum(c) FILTER (WHERE c > 1 AND {notnull}), 0), "
            f"arg_min({keys}, f, {SAMPLE_ROWS}) FILTER (WHERE c > 1 AND {notnull}) "
            f"FROM (SELECT {cols}, count(*) AS c, min(_row) AS f FROM {ctx.relation} t GROUP BY ALL)").fetchall()[0]
        res = RuleResult(r, n, int(missing), int(dup))
        if dup and top:
            con.register("__cb_dup_keys", pa.Table.from_pylist(top))
            try:
                on = " AND ".join(f"t.{quote_ident(c)} = d.{quote_ident(f'k{i}')}" for i, c in enumerate(r.columns))
                res.samples = _fetch_samples(con, ctx, r, "true",
                                             from_sql=f"{ctx.relation} t SEMI JOIN __cb_dup_keys d ON {on}")
            finally:
                con.unregister("__cb_dup_keys")
        return res
    if r.type == "referential":
        glob = ctx.ref_globs.get(r.key)
        c = r.column
        missing = con.execute(f"SELECT count_if({quote_ident(c)} IS NULL) FROM {ctx.relation} t").fetchone()[0]
        if glob is None:
            return RuleResult(r, n, int(missing), 0, error=f"参照资源 {r.params.get('resource_code')} 尚无数据版本")
        ref_col = r.params.get("ref_column") or c
        ref = f"(SELECT DISTINCT CAST({quote_ident(ref_col)} AS VARCHAR) AS v FROM read_parquet('{glob}'))"
        src = f"{ctx.relation} t ANTI JOIN {ref} d ON CAST(t.{quote_ident(c)} AS VARCHAR) = d.v"
        bad = con.execute(f"SELECT count(*) FROM {src} WHERE t.{quote_ident(c)} IS NOT NULL").fetchone()[0]
        res = RuleResult(r, n, int(missing), int(bad))
        if bad:
            res.samples = _fetch_samples(con, ctx, r, f"t.{quote_ident(c)} IS NOT NULL", from_sql=src)
        return res
    if r.type == "type":
        return RuleResult(r, n, 0, int(ctx.cast_failures.get(r.column, 0)))
    if r.type == "freshness":
        cycle = r.params.get("update_cycle", "不定期")
        days = CYCLE_DAYS.get(cycle)
        now = ctx.now or datetime.now(UTC)
        stale = 0
        if days is not None and ctx.updated_at is not None:
            stale = int(now - ctx.updated_at > timedelta(days=days))
        r.params.setdefault("last_updated", ctx.updated_at.isoformat() if ctx.updated_at else None)
        return RuleResult(r, 1, 0, stale)
    raise ValueError(r.type)  # pragma: no cover


# --------------------------------------------------------------------------- automatic rules

_BIRTH = re.compile(r"(birth|csrq|出生)", re.I)
_GENDER = re.compile(r"^(gender|sex|xb)$|性别", re.I)
def auto_rules(fields: list[Any], update_cycle: str | None) -> list[Rule]:
    """Rules every resource gets from its 信息项: not-null, key uniqueness, data types, data elements,
    ID-number consistency with birth date and gender, and freshness."""
    rules: list[Rule] = []
    fields = sorted(fields, key=lambda f: (f.position, f.name))
    for f in fields:
        if not f.nullable:
            rules.append(Rule(f"auto:not_null:{f.name}", "not_null", [f.name]))
    keys = [f.name for f in fields if f.is_key]
    if keys:
        rules.append(Rule(f"auto:unique:{','.join(keys)}", "unique", keys))
    for f in fields:
        if f.data_type not in ("string",):
            rules.append(Rule(f"auto:type:{f.name}", "type", [f.name], {"data_type": f.data_type}))
        if f.element in ELEMENT_LABELS and not (f.element == "date" and f.data_type in ("date", "datetime")):
            rules.append(Rule(f"auto:element:{f.name}", "element", [f.name], {"element": f.element}))
            if f.element in STANDARD_FORM:
                rules.append(Rule(f"auto:form:{f.name}", "form", [f.name], {"element": f.element}))
        elif f.element == "enum" and f.enum_values:
            rules.append(Rule(f"auto:in_set:{f.name}", "in_set", [f.name], {"values": list(f.enum_values)}))
    id_fields = [f for f in fields if f.element == "cn_id_card"]
    if id_fields:
        birth = next((f.name for f in fields if f.element == "date" or f.data_type == "date"
                      if _BIRTH.search(f.name) or _BIRTH.search(f.label or "")), None)
        gender = next((f.name for f in fields if _GENDER.search(f.name) or _GENDER.search(f.label or "")), None)
        if birth or gender:
            cols = [id_fields[0].name, birth or "", gender or ""]
            while cols and not cols[-1]:
                cols.pop()
            rules.append(Rule(f"auto:id_consistency:{id_fields[0].name}", "id_consistency",
                              [c for c in cols], {}))
    if update_cycle:
        rules.append(Rule("auto:freshness", "freshness", [], {"update_cycle": update_cycle}))
    return rules


def rule_from_row(rule_id: int, rule_type: str, columns: list[str], params: dict[str, Any], label: str = "") -> Rule:
    return Rule(f"rule:{rule_id}", rule_type, columns, dict(params), source="explicit", label=label)


def scores(results: list[RuleResult]) -> tuple[dict[str, float], float | None]:
    """Per dimension: the mean pass rate of its rules (100 − unexpected %); overall: mean of dimensions."""
    by_dim: dict[str, list[float]] = {}
    for r in results:
        if r.error:
            continue
        by_dim.setdefault(r.rule.dimension, []).append(r.score)
    dims = {d: round(sum(v) / len(v), 2) for d, v in by_dim.items()}
    overall = round(sum(dims.values()) / len(dims), 2) if dims else None
    return dims, overall


def to_gx(results: list[RuleResult], labels: dict[str, str], meta: dict[str, Any]) -> dict[str, Any]:
    dims, overall = scores(results)
    ok = sum(1 for r in results if r.success)
    return {
        "success": all(r.success for r in results),
        "statistics": {"evaluated_expectations": len(results), "successful_expectations": ok,
                       "unsuccessful_expectations": len(results) - ok,
                       "success_percent": round(100.0 * ok / len(results), 2) if results else None},
        "results": [r.as_gx(labels) for r in results],
        "meta": {**meta, "scores": dims, "score": overall,
                 "dimension_labels": {d: DIMENSIONS[d] for d in dims}},
    }


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
