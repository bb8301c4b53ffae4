"""The NumPy kernels (citybase.standards.vector) decide every value exactly as the Python
validators do: on generated values near the valid shapes, and on the corner cases by hand."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from citybase.standards import vector
from citybase.standards._text import WS_CHARS
from citybase.standards.division import is_valid_division_code
from citybase.standards.formats import is_valid_mobile
from citybase.standards.idcard import check_id, id_check_char
from citybase.standards.uscc import USCC_CHARSET, is_valid_uscc, uscc_check_char

ID_FORM = re.compile(r"[0-9]{17}[0-9X]")
USCC_FORM = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}")
EPOCH = date(1970, 1, 1)


def _blanks(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Values with blanks of every kind the validators remove put in at random places."""
    return st.tuples(values, st.lists(st.tuples(st.integers(0, 20), st.sampled_from(WS_CHARS)), max_size=3)).map(
        lambda vb: _insert(*vb))


def _insert(value: str, blanks: list[tuple[int, str]]) -> str:
    for pos, ch in blanks:
        value = value[:pos] + ch + value[pos:]
    return value


def _ids() -> st.SearchStrategy[str]:
    """Mostly valid-looking numbers: real and unreal dates and address codes, right and wrong
    check characters, with x/X, blanks and full-width digits mixed in."""
    body = st.builds(
        lambda addr, y, m, d, seq: f"{addr}{y:04d}{m:02d}{d:02d}{seq:03d}",
        st.sampled_from(["320205", "320200", "110105", "999999", "010101", "810000"]),
        st.integers(1890, date.today().year + 1), st.integers(0, 13), st.integers(0, 32), st.integers(0, 999))
    good = body.map(lambda b: b + id_check_char(b))
    lower = good.map(lambda s: s.replace("X", "x"))
    wrong = body.flatmap(lambda b: st.sampled_from("0123456789Xx").map(lambda c: b + c))
    legacy = body.map(lambda b: b[:6] + b[8:])
    noisy = good.flatmap(lambda s: st.sampled_from([" " + s, s[:6] + " " + s[6:], "０" + s[1:], s[:-1], s + "1",
                                                    s[:17] + "A", "\u3000" + s, s.replace("3", "Ｘ", 1)]))
    return st.one_of(good, lower, wrong, legacy, noisy, _blanks(st.one_of(good, lower, legacy)), st.text(max_size=20))


def _usccs() -> st.SearchStrategy[str]:
    chars = st.text(alphabet=USCC_CHARSET + "IOZSVabcxyz", min_size=17, max_size=17)
    good = st.builds(lambda h, b: (h + b)[:17], st.sampled_from(["91", "92", "A1", "N2", "Y1", "01"]),
                     chars).map(lambda b: b + uscc_check_char(b) if all(c in USCC_CHARSET for c in b) else b + "0")
    wrong = chars.flatmap(lambda b: st.sampled_from(USCC_CHARSET).map(lambda c: b + c))
    noisy = good.flatmap(lambda s: st.sampled_from([s.lower(), " " + s, s[:9] + " " + s[9:], s[:-1], "\t" + s,
                                                    "９" + s[1:]]))
    return st.one_of(good, wrong, noisy, _blanks(st.one_of(good, good.map(str.lower))), st.text(max_size=20))


def _array(values: list[str | None]) -> pa.Array:
    return pa.array(values, pa.string())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(_ids(), st.none()), min_size=1, max_size=200))
def test_id_kernel_agrees_with_check_id(values):
    got = vector.id_facts(_array(values))
    for i, v in enumerate(values):
        c = check_id(v) if v is not None else None
        assert got.valid[i] == bool(c and c.valid), v
        assert got.form[i] == bool(v is not None and ID_FORM.fullmatch(v)), v
        if c and c.valid:
            assert got.birth[i] == (c.birth_date - EPOCH).days, v
            assert got.male[i] == (c.gender == "M"), v


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(_usccs(), st.none()), min_size=1, max_size=200))
def test_uscc_kernel_agrees_with_the_validator(values):
    got = vector.uscc_facts(_array(values))
    for i, v in enumerate(values):
        assert got.valid[i] == (v is not None and is_valid_uscc(v)), v
        assert got.form[i] == bool(v is not None and USCC_FORM.fullmatch(v)), v


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="0123456789+- ８", max_size=16),
                          st.from_regex(r"1[0-9]{10}", fullmatch=True),
                          _blanks(st.from_regex(r"(\+86|86|0086)?1[0-9]{2}-?[0-9]{4}-?[0-9]{4}", fullmatch=True))),
                min_size=1, max_size=100))
def test_mobile_kernel_agrees_with_the_validator(values):
    got = vector.mobile_facts(_array(values)).valid
    assert list(got) == [v is not None and is_valid_mobile(v) for v in values]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), st.from_regex(r"[0-9]{6}", fullmatch=True),
                          st.from_regex(r"3202[0-9]{5}|3202050[0-9]{2}[0-9]{3}|320[0-9]{3}00[0-9]000", fullmatch=True),
                          st.sampled_from(["320205", " 320205", "32020", "320200", "３２０２０５", "", "1100001",
                                           "320205001", "320205001001", "320205001000", "320205000000",
                                           "320202000000", "032020500", "3202050010", "999999001000"]),
                          _blanks(st.sampled_from(["320205", "320200", "110105", "999999", "320205001",
                                                   "320205001001", "320205001000", "320205001999"]))),
                min_size=1, max_size=100))
def test_division_kernel_agrees_with_the_validator(values):
    got = vector.division_facts(_array(values)).valid
    assert list(got) == [v is not None and is_valid_division_code(v) for v in values]


def test_birth_dates_up_to_today_only():
    today = date.today()
    body = f"320205{today:%Y%m%d}001"
    tomorrow = today + timedelta(days=1)
    later = f"320205{tomorrow:%Y%m%d}001"
    values = [body + id_check_char(body), later + id_check_char(later),
              "32020518991231001" + id_check_char("32020518991231001")]
    assert list(vector.id_facts(_array(values)).valid) == [True, False, False]


def test_sliced_chunked_and_large_string_arrays():
    """Batches arrive as slices (offset ≠ 0), chunked arrays and large strings."""
    good = "32020519800101001" + id_check_char("32020519800101001")
    values = [None, "x", good, good[:-1] + ("0" if good[-1] != "0" else "1"), good] * 7
    expect = [v is not None and check_id(v).valid for v in values]
    arr = _array(values)
    assert list(vector.id_facts(arr.slice(3, 20)).valid) == expect[3:23]
    assert list(vector.id_facts(pa.chunked_array([arr.slice(0, 10), arr.slice(10)])).valid) == expect
    assert list(vector.id_facts(arr.cast(pa.large_string())).valid) == expect
    assert list(vector.id_facts(_array([])).valid) == []
