import numpy as np
import pytest

from citybase.standards import division
from citybase.standards.division import (
    all_division_codes,
    division_ever_existed,
    is_valid_division_code,
    lookup_division,
)

WUXI_HISTORICAL = ["320202", "320203", "320204", "320212", "320221", "320222", "320223", "320283"]
WUXI_CURRENT = ["320200", "320205", "320206", "320211", "320213", "320214", "320281", "320282"]


@pytest.mark.parametrize("code", WUXI_HISTORICAL + WUXI_CURRENT)
def test_wuxi_codes_ever_existed(code):
    assert division_ever_existed(code)
    assert is_valid_division_code(code)
    assert code in all_division_codes()


@pytest.mark.parametrize("code", WUXI_CURRENT)
def test_wuxi_current_codes_are_current(code):
    assert is_valid_division_code(code, current_only=True)
    assert lookup_division(code).current


@pytest.mark.parametrize("code", WUXI_HISTORICAL)
def test_wuxi_historical_codes_are_not_current(code):
    assert not is_valid_division_code(code, current_only=True)
    assert lookup_division(code).current is False


def test_lookup_details():
    info = lookup_division("320202")
    assert info.name == "崇安区"
    assert info.province == "江苏省" and info.prefecture == "无锡市" and info.county == "崇安区"
    assert info.level == "county"
    assert info.years == ((1983, 2015),)
    assert info.existed_in(1990) and not info.existed_in(2016)
    jiangyin = lookup_division("320281")
    assert jiangyin.name == "江阴市" and jiangyin.years == ((1989, None),)
    binhu = lookup_division("320211")
    assert [h.name for h in binhu.history] == ["郊区", "滨湖区"] and binhu.name == "滨湖区"
    wuxi = lookup_division("320200")
    assert wuxi.level == "prefecture" and wuxi.name == "无锡市" and wuxi.county is None
    js = lookup_division("320000")
    assert js.level == "province" and js.name == "江苏省" and js.prefecture is None


def test_province_and_prefecture_codes_come_from_the_table():
    codes = all_division_codes()
    assert {"110000", "320000", "810000", "820000"} <= codes
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 6000
    # nothing is inferred from ranges: an unlisted prefecture-like code is rejected
    assert "329900" not in codes and not division_ever_existed("329900")


@pytest.mark.parametrize("bad", ["", "32020", "3202020", "32020a", None, "999999", "000000"])
def test_invalid_codes(bad):
    assert not division_ever_existed(bad)
    assert not is_valid_division_code(bad)
    assert lookup_division(bad) is None


def test_whitespace_and_int_input():
    assert is_valid_division_code(" 320281 ")
    assert is_valid_division_code(320281)


def _clear_caches():
    for fn in (division._raw_table, division._build_info, division.all_division_codes,
               division.current_division_codes):
        fn.cache_clear()


def test_supplement_fills_codes_missing_from_loc_dat(monkeypatch):
    # drop every "xx020y" line (in all provinces) from the table
    text = division._read_loc_dat()
    stripped = "\n".join(line for line in text.splitlines() if not line.startswith("  020"))
    monkeypatch.setattr(division, "_read_loc_dat", lambda: stripped)
    _clear_caches()
    try:
        codes = division.all_division_codes()
        assert "110202" not in codes  # gone, and not in the supplement
        assert {"320202", "320203", "320204", "320205", "320206"} <= codes  # supplemented
        assert division.lookup_division("320202").years == ((1983, 2015),)
    finally:
        monkeypatch.undo()
        _clear_caches()
    assert "110202" in division.all_division_codes()


@pytest.mark.parametrize("code", [
    "320205001",        # 东亭街道 (乡镇/街道, 9 digits)
    "320205001001",     # 门楼社区居委会 (村/社区, 12 digits)
    "320205001000",     # 东亭街道 written at 12 digits
    "320205000000",     # 锡山区 written at 12 digits
    "320200000000",     # 无锡市 written at 12 digits
    " 320205 001 ",     # blanks are removed as for 6-digit codes
])
def test_statistical_codes_below_the_county_are_looked_up(code):
    assert is_valid_division_code(code)
    assert is_valid_division_code(code, current_only=True)


@pytest.mark.parametrize("bad", [
    "320205999",        # county real, street unlisted
    "320205000",        # a county code padded to 9 digits is not a street code
    "320205001999",     # street real, community unlisted
    "999999001000",     # padded, but the street does not exist
    "000000000000",
    "032020500",        # 9 digits with a leading zero: not 320205 read as a number
    "3202050010",       # 10 digits
    "320205001001x",
])
def test_unlisted_statistical_codes_are_rejected(bad):
    assert not is_valid_division_code(bad)


def test_statistical_codes_follow_the_current_only_rule_of_their_county():
    # 崇安区 (320202) ended in 2015: at 12 digits it is still the historical county code
    assert is_valid_division_code("320202000000")
    assert not is_valid_division_code("320202000000", current_only=True)


def test_subcounty_tables_come_from_the_installed_package():
    streets, villages = division.subcounty_codes(9), division.subcounty_codes(12)
    assert len(streets) > 40_000 and len(villages) > 600_000
    assert streets.min() >= 10**8 and streets.max() < 10**9 and villages.min() >= 10**11
    assert list(division.subcounty_listed(streets[:3], 9)) == [True] * 3
    outside = [streets.min() - 1, streets.max() + 1, 320205999]  # below, above and between listed codes
    assert list(division.subcounty_listed(np.array(outside, dtype=np.int64), 9)) == [False] * 3
    assert len(division.subcounty_listed(streets[:0], 9)) == 0
    # the ID address stays a 6-digit GB/T 2260 code
    assert not division_ever_existed("320205001") and lookup_division("320205001") is None
