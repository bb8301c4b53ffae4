from datetime import date

import pytest

from citybase.standards.formats import is_valid_date, is_valid_mobile, is_valid_postcode, normalize_mobile
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


@pytest.mark.parametrize(
    "value, expected",
    [
        ("13812345678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("008613812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("12812345678", None),
        ("1381234567", None),
        ("051082700000", None),
        ("", None),
        (None, None),
    ],
)
def test_mobile(value, expected):
    assert normalize_mobile(value) == expected
    assert is_valid_mobile(value) is (expected is not None)


def test_postcode_and_date():
    assert is_valid_postcode("214000") and is_valid_postcode(" 214000 ")
    assert not is_valid_postcode("21400") and not is_valid_postcode("21400a") and not is_valid_postcode(None)
    assert is_valid_date("2024-02-29") and is_valid_date("20240229") and is_valid_date(date(2020, 1, 1))
    assert not is_valid_date("2023-02-29") and not is_valid_date("2024/02/01") and not is_valid_date("0000-01-01")


def test_masking_table_examples():
    assert mask_name("张三丰") == "张**"
    assert mask_id_number("320281197001011233") == "320281********1233"
    assert mask_mobile("13812345678") == "138****5678"
    assert mask_mobile("+86 138-1234-5678") == "138****5678"
    assert mask_plate("苏B45670") == "苏B4***0"
    assert mask_email("dengxu@example.com") == "d*****@example.com"
    assert mask_bank_card("6222 0212 3456 7891 234") == "622202*********1234"
    assert mask_address("江苏省无锡市梁溪区中山路100号") == "江苏省无锡市梁溪区" + "*" * len("中山路100号")
    assert mask_address("北京市朝阳区建国路88号") == "北京市朝阳区******"
    assert mask_address("广西壮族自治区南宁市青秀区民族大道") == "广西壮族自治区南宁市青秀区****"
    assert mask_address("无锡市滨湖区蠡湖大道1800号") == "无锡市滨湖区" + "*" * len("蠡湖大道1800号")
    assert mask_address("中山路100号") == "中******"
    assert mask_address("江苏省江阴市澄江街道人民路1号") == "江苏省江阴市" + "*" * len("澄江街道人民路1号")
    assert mask_generic("无锡市大数据管理局") == "无*******局"


@pytest.mark.parametrize(
    "fn", [mask_name, mask_id_number, mask_mobile, mask_bank_card, mask_address, mask_email, mask_plate, mask_generic]
)
@pytest.mark.parametrize("value", ["", "a", "ab", "abc", " ", "@", "a@", "@b", "张", 12345, 3.5, b"x"])
def test_masks_never_raise_and_hide_something(fn, value):
    out = fn(value)
    assert isinstance(out, str)
    if len(str(value).strip()) >= 1 and out:
        assert "*" in out or out == ""


@pytest.mark.parametrize("fn", [mask_name, mask_id_number, mask_mobile, mask_address, mask_email, mask_plate])
def test_none_passes_through(fn):
    assert fn(None) is None
    assert mask_value("name", None) is None


def test_mask_value_dispatch():
    assert mask_value("name", "张三丰") == "张**"
    assert mask_value("cn_id_card", "320281197001011233") == "320281********1233"
    assert mask_value("mobile", "13812345678") == "138****5678"
    assert mask_value("bank_card", "6222021234567891234") == "622202*********1234"
    assert mask_value("plate", "苏B45670") == "苏B4***0"
    assert mask_value("email", "d@example.com") == "*@example.com"
    assert mask_value("unknown-kind", "无锡市大数据管理局") == "无*******局"
    assert mask_value("address", "") == ""


def test_short_values_fall_back_to_generic():
    assert mask_id_number("12345") == "1***5"
    assert mask_mobile("110") == "1*0"
    assert mask_plate("苏B") == "苏*"
    assert mask_name("张") == "*"
    assert mask_email("noatsign") == "n******n"
