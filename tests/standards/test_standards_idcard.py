from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citybase.standards.division import all_division_codes
from citybase.standards.idcard import (
    check_id,
    id_check_char,
    is_valid_id,
    normalize_id,
    upgrade_15_to_18,
)

CODES = sorted(all_division_codes())


def make_id(address: str, born: date, seq: int) -> str:
    body = f"{address}{born:%Y%m%d}{seq:03d}"
    return body + id_check_char(body)


def test_published_examples():
    r = check_id("11010519491231002X")
    assert r.valid and r.code == "ok" and r.normalized == "11010519491231002X"
    assert r.birth_date == date(1949, 12, 31) and r.gender == "F" and r.address_code == "110105"
    assert is_valid_id("320281197001010012")  # 江阴市 code (1989-) carried by someone born 1970
    assert check_id("320281197001010012").gender == "M"


@pytest.mark.parametrize("wrong", [c for c in "0123456789" if c != "X"])
def test_wrong_check_character(wrong):
    r = check_id("11010519491231002" + wrong)
    assert not r.valid and r.code == "checksum" and r.message
    assert r.birth_date == date(1949, 12, 31)


def test_check_char():
    assert id_check_char("11010519491231002") == "X"
    assert id_check_char("32028119700101001") == "2"
    with pytest.raises(ValueError):
        id_check_char("1101051949123100")


def test_upgrade_15_to_18():
    assert upgrade_15_to_18("110105491231002") == "11010519491231002X"
    assert normalize_id("110105491231002") == "11010519491231002X"
    r = check_id("110105491231002")
    assert r.valid and r.birth_date == date(1949, 12, 31)
    with pytest.raises(ValueError):
        upgrade_15_to_18("11010549123100")


def test_normalisation():
    assert normalize_id(" 11010519491231002x ") == "11010519491231002X"
    assert normalize_id("110105 19491231 002X") == "11010519491231002X"
    assert normalize_id("\u300011010519491231002X\t") == "11010519491231002X"
    assert normalize_id("110105194912310021") is None


@pytest.mark.parametrize(
    "value, code",
    [
        (None, "empty"),
        ("", "empty"),
        ("   ", "empty"),
        ("abc", "shape"),
        ("1101051949123100", "shape"),
        ("11010519491231002Y", "shape"),
        ("1101051949123100２X", "shape"),  # full-width digit
        ("110105194913310021", "birth_date"),
        ("110105189912310021", "birth_date"),  # before 1900
        ("110105194902300021", "birth_date"),
        ("999999194912310021", "address_code"),
        ("010105194912310021", "address_code"),
    ],
)
def test_reason_codes(value, code):
    r = check_id(value)
    assert r.code == code and not r.valid and r.message


def test_future_birth_date_rejected():
    future = date.today() + timedelta(days=30)
    assert check_id(make_id("320281", future, 1)).code == "birth_date"
    assert is_valid_id(make_id("320281", date.today() - timedelta(days=3), 1))


@pytest.mark.parametrize("code", ["320202", "320203", "320204", "320212", "320221", "320222", "320223", "320283"])
def test_historical_wuxi_addresses_never_tied_to_birth_year(code):
    # codes carried for life: born long after the code was abolished, or long before it existed
    for born in (date(1950, 5, 17), date(2010, 1, 2)):
        assert is_valid_id(make_id(code, born, 12))


def test_residence_permit_codes():
    assert is_valid_id(make_id("830000", date(1990, 1, 1), 5))


@settings(max_examples=300, deadline=None)
@given(
    address=st.sampled_from(CODES),
    born=st.dates(min_value=date(1900, 1, 1), max_value=date.today() - timedelta(days=2)),
    seq=st.integers(0, 999),
)
def test_generated_ids_are_valid(address, born, seq):
    value = make_id(address, born, seq)
    r = check_id(value)
    assert r.valid, value
    assert r.gender == ("M" if seq % 2 else "F")
    assert is_valid_id(value.lower())


@settings(max_examples=300, deadline=None)
@given(
    address=st.sampled_from(CODES),
    born=st.dates(min_value=date(1900, 1, 1), max_value=date.today() - timedelta(days=2)),
    seq=st.integers(0, 999),
    pos=st.integers(0, 17),
    data=st.data(),
)
def test_any_single_substitution_is_caught(address, born, seq, pos, data):
    # MOD 11-2 weights are non-zero mod 11 and digit differences are < 11, so every single
    # substitution changes the checksum (or breaks the date or address first).
    value = make_id(address, born, seq)
    alphabet = "0123456789X" if pos == 17 else "0123456789"
    new = data.draw(st.sampled_from([c for c in alphabet if c != value[pos]]))
    mutated = value[:pos] + new + value[pos + 1 :]
    assert not is_valid_id(mutated), mutated
