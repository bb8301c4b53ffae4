"""Every rule type against hand-computed counts, on a small file built row by row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from citybase.catalog.schemas import FieldIn
from citybase.core.identity.principal import SYSTEM
from citybase.db import make_session, session_scope
from citybase.lake import service as lake
from citybase.quality import rules as engine
from citybase.quality import service as quality
from citybase.quality.schemas import RuleIn
from citybase.standards.idcard import id_check_char
from citybase.standards.uscc import uscc_check_char
from tests.lake.helpers import make_resource, write


def _id(birth: str, seq: int) -> str:
    body = "320205" + birth + f"{seq:03d}"
    return body + id_check_char(body)


def _uscc(body: str) -> str:
    return body + uscc_check_char(body)


A, B = _id("19800101", 11), _id("19850505", 22)        # male, female
C_BAD = _id("19900202", 33)[:17] + ("0" if _id("19900202", 33)[17] != "0" else "1")
D, G = _id("19920303", 44), _id("20001212", 55)        # female, male
F15 = "320205" + "600606" + "013"                     # legacy 15 digits, male
U1, U2 = "91110000600037341L", _uscc("91320200MA1ABCDE0")
U_BAD = U2[:17] + ("0" if U2[17] != "0" else "1")
O1, O_BAD = "600037341", "600037342"

ROWS = [
    # id, name, gender, birth, mobile, uscc, org, div, post, score, dept
    (A, "张三", "男", "1980-01-01", "13800138000", U1, O1, "320205", "214000", "80", "A"),
    (B, "李四", "女", "1985-05-05", "13912345678", U2, O1, "320211", "214000", "95", "B"),
    (A, "王五五", "男", "1980-01-01", "1381234567", U1, O1, "320205", "214000", "100", "A"),
    (C_BAD, "赵六", "男", "1990-02-02", "", U1.lower(), O1, "999999", "21400", "101", "C"),
    (D, "", "女", "1992-03-04", "13600000000", U_BAD, O_BAD, "320213", "214000", "-1", "D"),
    (F15, "孙七", "女", "1960-06-06", "13700000000", "", "", "320205", "214000", "abc", "A"),
    ("", "周八", "男", "", "13500000000", U2, O1, "320205", "", "50", "B"),
    (G, "吴九", "男", "2000-12-12", "15000000000", U1, O1, "320205", "214000", "0", "A"),
]

FIELDS = [
    FieldIn(name="id", label="公民身份号码", element="cn_id_card", grading="L4", nullable=False, is_key=True, position=1),
    FieldIn(name="name", label="姓名", grading="L3", nullable=False, position=2),
    FieldIn(name="gender", label="性别", element="enum", enum_values=["男", "女"], position=3),
    FieldIn(name="birth", label="出生日期", data_type="date", element="date", position=4),
    FieldIn(name="mobile", label="手机号码", element="mobile", grading="L3", position=5),
    FieldIn(name="uscc", label="统一社会信用代码", element="uscc", position=6),
    FieldIn(name="org", label="组织机构代码", element="org_code", position=7),
    FieldIn(name="div", label="行政区划代码", element="division_code", position=8),
    FieldIn(name="post", label="邮政编码", element="postcode", position=9),
    FieldIn(name="score", label="得分", data_type="integer", position=10),
    FieldIn(name="dept", label="科室", position=11),
]


@pytest.fixture
def report(city, tmp_path):
    text = ",".join(f.name for f in FIELDS) + "\n" + "\n".join(",".join(r) for r in ROWS) + "\n"
    with session_scope() as s:
        code = make_resource(s, name="规则测试", fields=FIELDS)
        ref = make_resource(s, name="法人库", class_code="102001", provider_code="320200-scjgj",
                            fields=[FieldIn(name="tyshxydm", label="统一社会信用代码", element="uscc", is_key=True,
                                            nullable=False)])
        lake.ingest_file(s, SYSTEM, ref, write(tmp_path / "ref.csv", f"tyshxydm\n{U1}\n{U2}\n"))
        for rule in [RuleIn(rule_type="regex", columns=["dept"], params={"pattern": "[A-C]"}),
                     RuleIn(rule_type="between", columns=["score"], params={"min_value": "0", "max_value": "100"}),
                     RuleIn(rule_type="in_set", columns=["dept"], params={"values": "A,B,C"}),
                     RuleIn(rule_type="length", columns=["name"], params={"min_value": 2, "max_value": 2}),
                     RuleIn(rule_type="unique", columns=["gender", "dept"]),
                     RuleIn(rule_type="referential", columns=["uscc"],
                            params={"resource_code": ref, "ref_column": "tyshxydm"})]:
            quality.add_rule(s, SYSTEM, code, rule)
        lake.ingest_file(s, SYSTEM, code, write(tmp_path / "t.csv", text))
    with make_session() as s:
        return code, quality.latest_report(s, code)


def _find(rep, gx_type: str, column: str | None = None, **kw) -> dict:
    for r in rep.results:
        cfg = r["expectation_config"]
        if cfg["type"] == gx_type and (column is None or cfg["kwargs"].get("column") == column) and all(
                cfg["kwargs"].get(k) == v for k, v in kw.items()):
            return r
    raise AssertionError(f"no result {gx_type} {column}")


EXPECTED = [
    # (GX type, column, evaluated, unexpected)
    ("expect_column_values_to_not_be_null", "id", 8, 1),
    ("expect_column_values_to_not_be_null", "name", 8, 1),
    ("expect_column_values_to_be_unique", "id", 7, 2),
    ("expect_column_values_to_be_valid_cn_id_card", "id", 7, 1),
    ("expect_column_values_to_be_in_standard_form_cn_id_card", "id", 7, 1),
    ("expect_column_values_to_be_in_set", "gender", 8, 0),
    ("expect_column_values_to_be_valid_mobile", "mobile", 7, 1),
    ("expect_column_values_to_be_valid_uscc", "uscc", 7, 1),
    ("expect_column_values_to_be_in_standard_form_uscc", "uscc", 7, 1),
    ("expect_column_values_to_be_valid_org_code", "org", 7, 1),
    ("expect_column_values_to_be_valid_division_code", "div", 8, 1),
    ("expect_column_values_to_be_valid_postcode", "post", 7, 1),
    ("expect_column_values_to_be_of_type", "score", 8, 1),
    ("expect_column_values_to_be_of_type", "birth", 8, 0),
    ("expect_cn_id_card_to_agree_with_birth_date_and_gender", "id", 6, 2),
    ("expect_column_values_to_match_regex", "dept", 8, 1),
    ("expect_column_values_to_be_between", "score", 7, 2),
    ("expect_column_value_lengths_to_be_between", "name", 7, 1),
    ("expect_column_values_to_exist_in_resource", "uscc", 7, 2),
]


def test_every_rule_type_against_hand_computed_counts(report):
    _, rep = report
    got = []
    for gx_type, column, _evaluated, _unexpected in EXPECTED:
        res = _find(rep, gx_type, column)
        r = res["result"]
        got.append((gx_type, column, r["element_count"] - r["missing_count"], r["unexpected_count"]))
        assert r["element_count"] == 8
        assert r["unexpected_percent"] == pytest.approx(100 * r["unexpected_count"] / got[-1][2], abs=1e-3)
        assert res["success"] is (r["unexpected_count"] == 0)
    assert got == EXPECTED
    in_set = [r for r in rep.results if r["expectation_config"]["type"] == "expect_column_values_to_be_in_set"
              and r["expectation_config"]["kwargs"]["column"] == "dept"][0]
    assert in_set["expectation_config"]["kwargs"]["value_set"] == ["A", "B", "C"]
    assert in_set["result"]["unexpected_count"] == 1
    compound = _find(rep, "expect_compound_columns_to_be_unique")
    assert compound["expectation_config"]["kwargs"]["column_list"] == ["gender", "dept"]
    assert compound["result"]["unexpected_count"] == 3  # 男/A on rows 1, 3 and 8
    fresh = _find(rep, "expect_resource_to_be_updated_within_cycle")
    assert fresh["result"]["unexpected_count"] == 0 and fresh["success"]
    _check_gx_shape_scores_and_masked_samples(rep)


def test_freshness_fails_after_the_update_cycle():
    created = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    rule = engine.Rule("auto:freshness", "freshness", [], {"update_cycle": "每日"})
    con = lake.connect()
    try:
        late = engine.Context(relation="(SELECT 1 AS _row)", updated_at=created, now=created + timedelta(days=2))
        assert engine.run(con, [rule], late)[0].unexpected_count == 1
        rule2 = engine.Rule("auto:freshness", "freshness", [], {"update_cycle": "每月"})
        ok = engine.Context(relation="(SELECT 1 AS _row)", updated_at=datetime(2026, 1, 1, tzinfo=UTC),
                            now=datetime(2026, 1, 20, tzinfo=UTC))
        assert engine.run(con, [rule2], ok)[0].unexpected_count == 0
    finally:
        con.close()


def _check_gx_shape_scores_and_masked_samples(rep) -> None:
    gx = rep.as_gx()
    assert set(gx) >= {"success", "statistics", "results", "meta"}
    assert gx["success"] is False
    st = gx["statistics"]
    assert st["evaluated_expectations"] == len(gx["results"])
    assert st["successful_expectations"] + st["unsuccessful_expectations"] == st["evaluated_expectations"]
    assert set(rep.scores) == {"completeness", "validity", "uniqueness", "consistency", "timeliness"}
    assert rep.scores["completeness"] == pytest.approx(100 - (12.5 + 12.5) / 2)
    assert rep.score == pytest.approx(sum(rep.scores.values()) / 5, abs=0.01)
    mobile = _find(rep, "expect_column_values_to_be_valid_mobile", "mobile")
    sample = mobile["result"]["partial_unexpected_rows"]
    assert [s["row"] for s in sample] == [3]
    assert sample[0]["values"]["mobile"] != "1381234567" and "*" in sample[0]["values"]["mobile"]
    assert "*" in sample[0]["values"]["id"]  # the key is shown, masked
    dup = _find(rep, "expect_column_values_to_be_unique", "id")
    assert [s["row"] for s in dup["result"]["partial_unexpected_rows"]] == [1, 3]
    assert all(A not in str(s) for s in dup["result"]["partial_unexpected_list"])


def _check_trend(report, tmp_path) -> None:
    code, rep1 = report
    clean = ",".join(f.name for f in FIELDS) + "\n" + ",".join(ROWS[0]) + "\n" + ",".join(ROWS[1]) + "\n"
    with session_scope() as s:
        lake.ingest_file(s, SYSTEM, code, write(tmp_path / "clean.csv", clean))
    with make_session() as s:
        tr = quality.trend(s, code)
        assert [t["version"] for t in tr] == [1, 2]
        assert tr[1]["score"] > tr[0]["score"]
        assert quality.score(s, code) == tr[1]["score"]
        assert quality.get_report(s, code, 1).score == rep1.score


def test_xlsx_report_and_trend(report, tmp_path):
    import io

    import openpyxl

    from citybase.quality import xlsx_report

    code, rep = report
    with make_session() as s:
        data = xlsx_report.build(s, code, rep.version_number)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["概览", "规则明细", "问题样例", "趋势"]
    assert wb["概览"]["A1"].value == "数据质量检核报告"
    detail = list(wb["规则明细"].iter_rows(min_row=2, values_only=True))
    assert len(detail) == len(rep.results)
    mobile = next(r for r in detail if r[4] == "expect_column_values_to_be_valid_mobile")
    assert (mobile[7], mobile[9]) == (1, "未通过")
    samples = " ".join(str(c) for row in wb["问题样例"].iter_rows(values_only=True) for c in row)
    assert A not in samples and "1381234567" not in samples
    _check_trend(report, tmp_path)


def test_kernel_rules_count_exactly_as_the_standards_macros():
    """The data-element rules run as NumPy kernels on Arrow batches; on messy values (blanks,
    lower case, full-width, legacy numbers, other lengths, NULL) their counts and first failing
    rows equal what the SQL macros of citybase.standards.sql give."""
    import duckdb

    from citybase.demo import synth
    from citybase.standards.sql import register_macros, validator_sql

    con = duckdb.connect()
    register_macros(con)
    codes = [e["credit_code"] for e in synth.enterprises(3000, seed=5, defects=0.3)]
    codes += ["", " 91110000600037341L", "91110000600037341l", "A1110000600037341L", "9111000060003734IL",
              "N2320200MA1ABCDE0X", "91110000600037341", None, "９1110000600037341L", "91110000600037341L\t"]
    ids = [A, B, C_BAD, D, G, F15, A.lower(), A[:17] + "x", " " + A, A[:6] + " " + A[6:], "０" + A[1:], "",
           None, A[:-1], A + "1", "010105198001011234", "3202051800010100" + "1X"]
    ids += [p["id_number"] for p in synth.persons(3000, seed=9, defects=0.3)]
    mobiles = ["13800138000", "+8613800138000", "138-0013-8000", "12800138000", "1380013800", "", None,
               "１３８００１３８０００", "0086 138 0013 8000"] * 50
    divs = ["320205", " 320205", "999999", "32020", "", None, "320200", "３２０２０５"] * 50
    n = max(len(codes), len(ids), len(mobiles), len(divs))
    cols = {k: (v * (n // len(v) + 1))[:n] for k, v in
            {"u": codes, "i": ids, "m": mobiles, "d": divs}.items()}
    con.execute("CREATE TABLE t AS SELECT unnest(?::VARCHAR[]) AS u, unnest(?::VARCHAR[]) AS i, "
                "unnest(?::VARCHAR[]) AS m, unnest(?::VARCHAR[]) AS d, "
                "unnest(range(1, ?::BIGINT + 1)) AS _row", [cols["u"], cols["i"], cols["m"], cols["d"], n])
    rules = [engine.Rule(f"e:{c}", "element", [c], {"element": el})
             for c, el in (("u", "uscc"), ("i", "cn_id_card"), ("m", "mobile"), ("d", "division_code"))]
    rules += [engine.Rule(f"f:{c}", "form", [c], {"element": el}) for c, el in (("u", "uscc"), ("i", "cn_id_card"))]
    assert all(engine.is_vector(r) for r in rules)
    results = engine.run(con, rules, engine.Context(relation="t"))
    for r, res in zip(rules, results, strict=True):
        c = r.column
        if r.type == "form":
            ok = f"regexp_full_match({c}, '{engine.STANDARD_FORM[r.params['element']]}')"
        else:
            ok = validator_sql(r.params["element"], c)
        where = f"{c} IS NOT NULL AND NOT coalesce({ok}, false)"
        bad, missing = con.execute(f"SELECT count_if({where}), count_if({c} IS NULL) FROM t").fetchall()[0]
        first = [x[0] for x in con.execute(f"SELECT _row FROM t WHERE {where} ORDER BY _row LIMIT 5").fetchall()]
        assert (res.unexpected_count, res.missing_count, res.element_count) == (bad, missing, n), r.key
        assert [x["row"] for x in res.samples] == first, r.key
        assert bad > 0, r.key  # every column holds defects


def test_uniqueness_samples_on_a_reused_connection(tmp_path):
    """The uniqueness samples register an Arrow table, which DuckDB 2 refuses while a result is
    left open (as fetchone() leaves it): they must work after other rules and on a connection
    reused across evaluations, as the per-thread macro connection is."""
    import duckdb

    con = duckdb.connect()
    ref = tmp_path / "ref.parquet"
    con.execute(f"COPY (SELECT unnest(['a', 'b']) AS v) TO '{ref}' (FORMAT parquet)")
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES (1, 'a', 'x'), (2, 'c', 'y'), (3, 'a', 'x'), "
                "(4, 'b', 'z'), (5, 'b', 'x')) v(_row, r, k)")
    rules = [engine.Rule("rule:1", "referential", ["r"], {"resource_code": "X", "ref_column": "v"}),
             engine.Rule("rule:2", "unique", ["k"])]
    for _ in range(2):  # the second run starts with the first run's results on the connection
        ctx = engine.Context(relation="t", ref_globs={"rule:1": str(ref)})
        got = {res.rule.key: res for res in engine.run(con, rules, ctx)}
        assert got["rule:1"].error is None and got["rule:1"].unexpected_count == 1
        uniq = got["rule:2"]
        assert uniq.error is None and uniq.unexpected_count == 3
        assert [s["row"] for s in uniq.samples] == [1, 3, 5]
