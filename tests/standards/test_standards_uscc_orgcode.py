import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citybase.standards.orgcode import check_org_code, normalize_org_code, org_code_check_char
from citybase.standards.uscc import USCC_CHARSET, check_uscc, is_valid_uscc, uscc_check_char

EXAMPLE = "91110000600037341L"


def test_published_example():
    r = check_uscc(EXAMPLE)
    assert r.valid and r.code == "ok" and r.normalized == EXAMPLE
    assert r.department == "工商（市场监管）" and r.org_type_name == "企业"
    assert r.division_code == "110000" and r.org_code == "600037341"
    assert uscc_check_char(EXAMPLE[:17]) == "L"
    assert is_valid_uscc(" 91110000600037341l ")


@pytest.mark.parametrize("wrong", [c for c in USCC_CHARSET if c != "L"])
def test_wrong_check_character_is_a_finding_not_an_error(wrong):
    r = check_uscc(EXAMPLE[:17] + wrong)
    assert not r.valid and r.code == "checksum" and "校验码" in r.message
    assert r.division_code == "110000"  # parts still reported for review


@pytest.mark.parametrize("dept", ["A", "N", "Y", "1", "5"])
def test_all_department_codes_accepted(dept):
    body = dept + "1320200" + "MA1XYW12" + "3"
    code = body + uscc_check_char(body)
    r = check_uscc(code)
    assert r.valid, code
    assert r.department


@pytest.mark.parametrize(
    "value, code",
    [
        (None, "empty"),
        ("  ", "empty"),
        ("0111000060003734 1L", "shape"),  # department 0 unused
        ("B1110000600037341L", "shape"),
        ("91110000600037341", "shape"),
        ("9111000060003734IL", "shape"),  # I not in the charset
        ("911100A0600037341L", "shape"),  # division code must be digits
    ],
)
def test_shape(value, code):
    assert check_uscc(value).code == code


def make_uscc(dept, kind, division, rest):
    body = dept + kind + division + rest
    return body + uscc_check_char(body)


uscc_parts = dict(
    dept=st.sampled_from("123456789ANY"),
    kind=st.sampled_from(USCC_CHARSET),
    division=st.from_regex(r"[0-9]{6}", fullmatch=True),
    rest=st.text(alphabet=USCC_CHARSET, min_size=9, max_size=9),
)


@settings(max_examples=300, deadline=None)
@given(**uscc_parts)
def test_generated_codes_are_valid(dept, kind, division, rest):
    assert is_valid_uscc(make_uscc(dept, kind, division, rest))


@settings(max_examples=300, deadline=None)
@given(**uscc_parts, pos=st.integers(0, 17), data=st.data())
def test_single_substitution_is_caught(dept, kind, division, rest, pos, data):
    # weights 3^i mod 31 are non-zero and character values differ by less than 31
    code = make_uscc(dept, kind, division, rest)
    alphabet = "0123456789" if 2 <= pos < 8 else ("123456789ANY" if pos == 0 else USCC_CHARSET)
    new = data.draw(st.sampled_from([c for c in alphabet if c != code[pos]]))
    assert not is_valid_uscc(code[:pos] + new + code[pos + 1 :])


def test_org_code_example():
    assert org_code_check_char("60003734") == "1"
    assert check_org_code("60003734-1") and check_org_code("600037341") and check_org_code(" 60003734-1 ")
    assert normalize_org_code("600037341") == "60003734-1"


@pytest.mark.parametrize("wrong", [c for c in "0123456789X" if c != "1"])
def test_org_code_wrong_check(wrong):
    assert not check_org_code("60003734-" + wrong)
    assert not check_org_code("60003734" + wrong)


@pytest.mark.parametrize("bad", [None, "", "6000373-41", "60003734--1", "6000373", "6000373Ä-1"])
def test_org_code_bad_shapes(bad):
    assert not check_org_code(bad)


def test_org_code_check_values_10_and_11():
    # find bodies whose check value is 10 (X) and 11 (0) and verify the mapping
    seen = {}
    for n in range(2000):
        body = f"{n:08d}"
        seen.setdefault(org_code_check_char(body), body)
    assert "X" in seen and "0" in seen
    assert check_org_code(seen["X"] + "-X") and check_org_code(seen["0"] + "0")
