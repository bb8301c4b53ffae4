"""SQL macros: examples, conventions, and agreement with the Python functions on 100,000
seeded random inputs per validator (generated in bulk and compared as arrays)."""

import random
from datetime import date, timedelta

import duckdb
import pyarrow as pa
import pytest

from citybase.standards.division import all_division_codes, is_valid_division_code, subcounty_codes
from citybase.standards.enums import DataElement
from citybase.standards.formats import is_valid_date, is_valid_mobile, is_valid_postcode, normalize_mobile
from citybase.standards.idcard import EXTRA_ADDRESS_CODES, check_id, id_check_char
from citybase.standards.masking import (
    mask_address,
    mask_bank_card,
    mask_email,
    mask_generic,
    mask_id_number,
    mask_mobile,
    mask_name,
    mask_plate,
    mask_value,
)
from citybase.standards.orgcode import check_org_code, org_code_check_char
from citybase.standards.sql import MACRO_NAMES, VALIDATOR_SQL, register_macros, validator_sql
from citybase.standards.uscc import USCC_CHARSET, check_uscc, uscc_check_char

N = 100_000
WS = [" ", "\t", "\n", "\r", "\u00a0", "\u3000", "\u200b", "\ufeff", "\f", "\v"]


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    register_macros(c)
    register_macros(c)  # idempotent
    yield c
    c.close()


def run(con, sql_exprs: dict[str, str], values: list) -> dict[str, list]:
    """Evaluate each expression (with x = the input column) over ``values`` in one query."""
    tbl = pa.table({"i": pa.array(range(len(values)), pa.int64()), "x": pa.array(values, pa.string())})
    con.register("inputs", tbl)
    try:
        cols = ", ".join(f"{expr} AS {name}" for name, expr in sql_exprs.items())
        rows = con.execute(f"SELECT {cols} FROM inputs ORDER BY i").fetchall()
    finally:
        con.unregister("inputs")
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in sql_exprs]
    return {name: list(col) for name, col in zip(sql_exprs, columns, strict=True)}


def test_macros_exist_on_fresh_connection(con):
    names = {r[0] for r in con.execute("SELECT DISTINCT function_name FROM duckdb_functions()").fetchall()}
    assert set(MACRO_NAMES) <= names


def test_examples(con):
    q = con.execute(
        "SELECT cb_id_valid('11010519491231002X'), cb_id_valid('320281197001010012'), "
        "cb_id_reason('11010519491231002Y'), cb_id_reason('110105194912310021'), "
        "cb_id_normalize('110105491231002'), cb_uscc_valid('91110000600037341L'), "
        "cb_uscc_reason('91110000600037341M'), cb_org_code_valid('60003734-1'), "
        "cb_mobile_valid('+86 138-1234-5678'), cb_postcode_valid('214000'), cb_division_valid('320202'), "
        "cb_mask_name('张三丰'), cb_mask_id('320281197001011233'), cb_mask_mobile('13812345678'), "
        "cb_mask_plate('苏B45670'), cb_mask_email('dengxu@example.com'), "
        "cb_mask_value('name', '张三丰')"
    ).fetchall()[0]
    assert q == (
        True, True, "shape", "checksum", "11010519491231002X", True, "checksum", True, True, True, True,
        "张**", "320281********1233", "138****5678", "苏B4***0", "d*****@example.com", "张**",
    )


def test_null_conventions(con):
    row = con.execute(
        "SELECT cb_id_valid(NULL), cb_id_reason(NULL), cb_uscc_valid(NULL), cb_uscc_reason(NULL), "
        "cb_org_code_valid(NULL), cb_mobile_valid(NULL), cb_postcode_valid(NULL), cb_division_valid(NULL), "
        "cb_date_valid(NULL), cb_mask_name(NULL), cb_mask_value('x', NULL)"
    ).fetchall()[0]
    assert row == (None, "empty", None, "empty", None, None, None, None, None, None, None)


def test_validator_sql_templates(con):
    assert set(VALIDATOR_SQL) == set(DataElement)
    for element in DataElement:
        values = ["A", "B"] if element is DataElement.ENUM else None
        sql = validator_sql(element, "v", values)
        rows = con.execute(f"SELECT {sql} FROM (VALUES (NULL), ('A'), ('320202')) t(v)").fetchall()
        assert rows[0][0] is None
        assert all(r[0] in (True, False) for r in rows[1:])
    assert con.execute(f"SELECT {validator_sql('enum', 'v', ['A', 'B'])} FROM (VALUES ('A'), ('C')) t(v)").fetchall() == [
        (True,),
        (False,),
    ]
    with pytest.raises(ValueError):
        validator_sql(DataElement.ENUM, "v")


def test_works_in_where_and_with_non_varchar(con):
    n = con.execute(
        "SELECT count(*) FROM (VALUES ('11010519491231002X'), ('bad'), (NULL)) t(x) WHERE cb_id_valid(x)"
    ).fetchall()[0][0]
    assert n == 1
    assert con.execute("SELECT cb_division_valid(320202), cb_postcode_valid(214000)").fetchall()[0] == (True, True)


# ---------------------------------------------------------------- agreement: identity numbers


def _id_inputs(rng: random.Random) -> list:
    codes = sorted(all_division_codes() | EXTRA_ADDRESS_CODES)
    today = date.today()
    span = (today - timedelta(days=3) - date(1900, 1, 1)).days

    def valid18():
        born = date(1900, 1, 1) + timedelta(days=rng.randrange(span))
        body = f"{rng.choice(codes)}{born:%Y%m%d}{rng.randrange(1000):03d}"
        return body + id_check_char(body)

    garbage_chars = "0123456789Xx eE+-._ab\u00a0\u3000\t１"
    out: list = []
    for _ in range(N):
        r = rng.random()
        v = valid18()
        if r < 0.30:
            out.append(v)
        elif r < 0.45:  # one substituted character
            p = rng.randrange(18)
            out.append(v[:p] + rng.choice("0123456789X") + v[p + 1 :])
        elif r < 0.52:  # 15-digit legacy (maybe mutated)
            s = v[:6] + v[8:17]
            if rng.random() < 0.3:
                p = rng.randrange(15)
                s = s[:p] + rng.choice("0123456789") + s[p + 1 :]
            out.append(s)
        elif r < 0.57:
            out.append(v.lower())
        elif r < 0.65:  # blanks anywhere
            s = v if rng.random() < 0.7 else v[:6] + v[8:17]
            for _ in range(rng.randint(1, 3)):
                p = rng.randrange(len(s) + 1)
                s = s[:p] + rng.choice(WS) + s[p:]
            out.append(s)
        elif r < 0.69:  # leading zero / odd address / odd dates
            s = rng.choice(["0", "9", "1"]) + v[1:]
            if rng.random() < 0.5:
                y = rng.choice(["1899", "1900", "2099", "0000", str(today.year + 1)])
                s = s[:6] + y + s[10:]
            body = s[:17]
            out.append(body + (id_check_char(body) if body.isdigit() else "0"))
        elif r < 0.73:  # impossible dates with a correct check character
            body = v[:10] + rng.choice(["0230", "0229", "1301", "0000", "0431", "1232", "0132"]) + v[14:17]
            out.append(body + id_check_char(body))
        elif r < 0.80:  # cast-syntax traps
            out.append(rng.choice([
                v[:16] + "e2", "0x" + v[2:], "+" + v[1:], "-" + v[1:], v[:8] + "_" + v[9:], v[:17] + ".",
                v[:3] + "." + v[4:], " " * 18, v[:17], v + "0", v[:17] + "Y", v[:10] + "1e3" + v[13:],
            ]))
        elif r < 0.98:
            n = rng.choice([0, 1, 5, 14, 15, 16, 17, 18, 19, 20, 25])
            out.append("".join(rng.choice(garbage_chars) for _ in range(n)))
        else:
            out.append(None)
    return out


def test_id_agreement(con):
    values = _id_inputs(random.Random(20240601))
    got = run(con, {"valid": "cb_id_valid(x)", "reason": "cb_id_reason(x)", "norm": "cb_id_normalize(x)"}, values)
    mism = []
    for v, sv, sr, sn in zip(values, got["valid"], got["reason"], got["norm"], strict=True):
        c = check_id(v)
        want_valid = None if v is None else c.valid
        if (sv, sr, sn) != (want_valid, c.code, c.normalized):
            mism.append((v, (sv, sr, sn), (want_valid, c.code, c.normalized)))
    assert not mism, f"{len(mism)} mismatches, e.g. {mism[:5]}"
    assert 0.3 < sum(1 for x in got["valid"] if x) / N < 0.7


# ---------------------------------------------------------------- agreement: codes and formats


def _uscc_inputs(rng: random.Random) -> list:
    out: list = []
    for _ in range(N):
        body = (
            rng.choice("123456789ANY") + rng.choice(USCC_CHARSET)
            + "".join(rng.choice("0123456789") for _ in range(6))
            + "".join(rng.choice(USCC_CHARSET) for _ in range(9))
        )
        code = body + uscc_check_char(body)
        r = rng.random()
        if r < 0.35:
            out.append(code)
        elif r < 0.6:
            p = rng.randrange(18)
            out.append(code[:p] + rng.choice(USCC_CHARSET + "IOZSVBa") + code[p + 1 :])
        elif r < 0.7:
            out.append(code.lower() if rng.random() < 0.5 else " " + code[:9] + "\u3000" + code[9:])
        elif r < 0.98:
            n = rng.choice([0, 1, 17, 18, 19])
            out.append("".join(rng.choice(USCC_CHARSET + "iozsv ıſ-") for _ in range(n)))
        else:
            out.append(None)
    return out


def test_uscc_agreement(con):
    values = _uscc_inputs(random.Random(7))
    got = run(con, {"valid": "cb_uscc_valid(x)", "reason": "cb_uscc_reason(x)"}, values)
    mism = [
        (v, sv, sr)
        for v, sv, sr in zip(values, got["valid"], got["reason"], strict=True)
        if (sv, sr) != (None if v is None else check_uscc(v).valid, check_uscc(v).code)
    ]
    assert not mism, f"{len(mism)} mismatches, e.g. {mism[:5]}"


def _org_inputs(rng: random.Random) -> list:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out: list = []
    for _ in range(N):
        body = "".join(rng.choice(alphabet) for _ in range(8))
        code = body + rng.choice(["-", ""]) + org_code_check_char(body)
        r = rng.random()
        if r < 0.4:
            out.append(code)
        elif r < 0.7:
            p = rng.randrange(len(code))
            out.append(code[:p] + rng.choice(alphabet + "-x ") + code[p + 1 :])
        elif r < 0.8:
            out.append(code.lower())
        elif r < 0.99:
            out.append("".join(rng.choice(alphabet + "-xı ") for _ in range(rng.choice([0, 8, 9, 10, 11]))))
        else:
            out.append(None)
    return out


def _mobile_inputs(rng: random.Random) -> list:
    out: list = []
    for _ in range(N):
        num = "1" + rng.choice("0123456789") + "".join(rng.choice("0123456789") for _ in range(9))
        r = rng.random()
        if r < 0.5:
            prefix = rng.choice(["", "", "+86", "86", "0086", "+086", "086", "+ 86"])
            s = prefix + num
            if rng.random() < 0.3:
                s = s[:3] + rng.choice([" ", "-", "\t", "\u3000"]) + s[3:]
            out.append(s)
        elif r < 0.8:
            out.append("".join(rng.choice("0123456789+- ") for _ in range(rng.randint(0, 16))))
        elif r < 0.99:
            out.append(num[: rng.randint(5, 11)] + rng.choice(["", "1", "a"]))
        else:
            out.append(None)
    return out


def _postcode_inputs(rng: random.Random) -> list:
    return [
        None if rng.random() < 0.01 else "".join(rng.choice("0123456789 a\u3000") for _ in range(rng.randint(0, 8)))
        for _ in range(N)
    ]


def _division_inputs(rng: random.Random) -> list:
    codes = sorted(all_division_codes())
    streets = [str(c) for c in subcounty_codes(9)]
    villages = [str(c) for c in subcounty_codes(12)]
    out: list = []
    for _ in range(N):
        r = rng.random()
        if r < 0.4:
            out.append(rng.choice(codes))
        elif r < 0.5:  # 9 and 12 digits: listed, padded, or one digit off
            code = rng.choice([rng.choice(streets), rng.choice(villages), rng.choice(streets) + "000",
                               rng.choice(codes) + "000000", rng.choice(codes) + "000"])
            at = rng.randrange(len(code))
            out.append(code if rng.random() < 0.6 else code[:at] + str(rng.randrange(10)) + code[at + 1:])
        elif r < 0.9:
            out.append(f"{rng.randrange(1000000):06d}")
        elif r < 0.99:
            out.append(rng.choice(codes)[: rng.randint(0, 6)] + rng.choice(["", " ", "0", "a"]))
        else:
            out.append(None)
    return out


def _date_inputs(rng: random.Random) -> list:
    out: list = []
    for _ in range(N):
        y, m, d = rng.randint(0, 2200), rng.randint(0, 13), rng.randint(0, 32)
        sep = rng.choice(["-", "", "/"])
        out.append(None if rng.random() < 0.01 else f"{y:04d}{sep}{m:02d}{sep}{d:02d}")
    return out


@pytest.mark.parametrize(
    "macro, python, make",
    [
        ("cb_org_code_valid", check_org_code, _org_inputs),
        ("cb_mobile_valid", is_valid_mobile, _mobile_inputs),
        ("cb_postcode_valid", is_valid_postcode, _postcode_inputs),
        ("cb_division_valid", is_valid_division_code, _division_inputs),
        ("cb_date_valid", is_valid_date, _date_inputs),
    ],
)
def test_simple_validator_agreement(con, macro, python, make):
    values = make(random.Random(macro))
    got = run(con, {"v": f"{macro}(x)"}, values)["v"]
    mism = [(v, s) for v, s in zip(values, got, strict=True) if s != (None if v is None else python(v))]
    assert not mism, f"{len(mism)} mismatches, e.g. {mism[:5]}"


def test_mobile_normalize_agreement(con):
    values = _mobile_inputs(random.Random(3))
    got = run(con, {"v": "cb_mobile_normalize(x)"}, values)["v"]
    mism = [(v, s) for v, s in zip(values, got, strict=True) if s != normalize_mobile(v)]
    assert not mism, f"{len(mism)} mismatches, e.g. {mism[:5]}"


# ---------------------------------------------------------------- agreement: masking


def _mask_inputs(rng: random.Random) -> list:
    pieces = [
        "张三丰", "欧阳娜娜", "买买提·艾力", "李", "320281197001011233", "11010519491231002x", "13812345678",
        "+86 138-1234-5678", "6222 0212 3456 7891 234", "dengxu@example.com", "a@b", "@x", "苏B45670",
        "苏B·D12345", "京A-12345", "江苏省无锡市梁溪区中山路100号", "北京市朝阳区建国路88号",
        "广西壮族自治区南宁市青秀区民族大道", "无锡市滨湖区蠡湖大道1800号", "江苏省江阴市澄江街道人民路1号",
        "新疆维吾尔自治区克孜勒苏柯尔克孜自治州阿图什市", "上海市浦东新区世纪大道", "中山路100号", "无锡市阳光小区5栋",
    ]
    chars = "张三丰江苏省无锡市区县旗盟路街号小区a@. -·0123456789 \u3000\t"
    out: list = []
    for _ in range(N // 4):
        r = rng.random()
        if r < 0.5:
            out.append(rng.choice(pieces))
        elif r < 0.98:
            out.append("".join(rng.choice(chars) for _ in range(rng.randint(0, 24))))
        else:
            out.append(None)
    return out


MASKS = {
    "cb_mask_name": mask_name,
    "cb_mask_id": mask_id_number,
    "cb_mask_mobile": mask_mobile,
    "cb_mask_bank_card": mask_bank_card,
    "cb_mask_address": mask_address,
    "cb_mask_email": mask_email,
    "cb_mask_plate": mask_plate,
    "cb_mask_generic": mask_generic,
}


def test_mask_agreement(con):
    values = _mask_inputs(random.Random(11))
    got = run(con, {m: f"{m}(x)" for m in MASKS} | {"value_kind": "cb_mask_value('address', x)"}, values)
    for macro, fn in MASKS.items():
        mism = [(v, s, fn(v)) for v, s in zip(values, got[macro], strict=True) if s != fn(v)]
        assert not mism, f"{macro}: {len(mism)} mismatches, e.g. {mism[:5]}"
    assert got["value_kind"] == [mask_value("address", v) for v in values]
