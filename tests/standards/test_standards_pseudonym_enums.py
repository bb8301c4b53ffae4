import pytest

from citybase.standards.enums import (
    DataElement,
    DataGrade,
    OpenType,
    Sensitivity,
    ShareType,
    parse_open_type,
    parse_share_type,
)
from citybase.standards.pseudonym import pseudonymize


def test_pseudonym_deterministic_and_keyed():
    a = pseudonymize("320281197001010012", b"key-1")
    assert a == pseudonymize("320281197001010012", b"key-1")
    assert len(a) == 64 and int(a, 16) >= 0
    assert a != pseudonymize("320281197001010012", b"key-2")
    assert a != pseudonymize("320281197001010013", b"key-1")
    with pytest.raises(ValueError):
        pseudonymize("x", b"")


def test_enum_values_are_the_stored_strings():
    assert ShareType.CONDITIONAL == "有条件共享"
    assert OpenType("不予开放") is OpenType.NONE
    assert [g.value for g in DataGrade] == ["一般数据", "重要数据", "核心数据"]
    assert DataGrade.CORE.rank > DataGrade.IMPORTANT.rank > DataGrade.GENERAL.rank
    assert [s.label for s in Sensitivity] == ["不敏感", "低敏感", "较敏感", "敏感"]
    assert Sensitivity.L4.level == 4
    assert DataElement.CN_ID_CARD == "cn_id_card"
    assert DataElement.USCC.label == "统一社会信用代码"
    assert {e.value for e in DataElement} == {
        "cn_id_card", "uscc", "org_code", "mobile", "division_code", "postcode", "date", "enum", "text",
    }
    assert all(e.label for e in DataElement)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("无条件开放", OpenType.UNCONDITIONAL),
        ("有条件开放", OpenType.CONDITIONAL),
        ("受限开放", OpenType.CONDITIONAL),
        ("禁止开放", OpenType.NONE),
        ("非开放", OpenType.NONE),
        (" 不予开放 ", OpenType.NONE),
        (OpenType.NONE, OpenType.NONE),
    ],
)
def test_parse_open_type_aliases(text, expected):
    assert parse_open_type(text) is expected


def test_parse_share_type():
    assert parse_share_type("有条件共享") is ShareType.CONDITIONAL
    assert parse_share_type("不共享") is ShareType.NONE
    with pytest.raises(ValueError, match="未知的共享属性"):
        parse_share_type("随便共享")


@pytest.mark.parametrize("bad", ["开放", "", "半开放", None])
def test_parse_open_type_unknown_raises_chinese(bad):
    with pytest.raises(ValueError, match="未知的开放属性"):
        parse_open_type(bad)
