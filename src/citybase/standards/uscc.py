"""统一社会信用代码 — GB 32100-2015 (unified social credit code).

18 characters from a 31-character set: registration department, organisation type,
GB/T 2260 division code (6 digits), GB 11714 organisation code (9) and a check character.

A well-formed code whose check character is wrong is reported with ``code='checksum'``
(some early pilot codes are legal but fail the checksum: a finding to review, not a crash).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._text import as_text, ascii_upper, remove_ws

__all__ = [
    "DEPARTMENTS",
    "ORG_TYPES",
    "USCC_CHARSET",
    "USCC_WEIGHTS",
    "UsccCheck",
    "check_uscc",
    "is_valid_uscc",
    "uscc_check_char",
]

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I O Z S V
USCC_WEIGHTS: tuple[int, ...] = tuple(pow(3, i, 31) for i in range(17))  # 1 3 9 27 19 26 ...
_VALUE = {c: i for i, c in enumerate(USCC_CHARSET)}
_C = "0-9A-HJ-NPQRTUWXY"
# Department codes in use: 1-9, A, N, Y.
_SHAPE = re.compile(rf"[1-9ANY][{_C}][0-9]{{6}}[{_C}]{{10}}")
_BODY17 = re.compile(rf"[{_C}]{{17}}")

DEPARTMENTS: dict[str, str] = {
    "1": "机构编制",
    "2": "外交",
    "3": "司法行政",
    "4": "文化",
    "5": "民政",
    "6": "旅游",
    "7": "宗教",
    "8": "工会",
    "9": "工商（市场监管）",
    "A": "中央军委改革和编制办公室（军队）",
    "N": "农业（农村集体经济组织）",
    "Y": "其他",
}

# Organisation types per department (GB 32100-2015 appendix as published by implementers;
# types not listed here are reported as None, never rejected).
ORG_TYPES: dict[str, str] = {
    "11": "机关",
    "12": "事业单位",
    "13": "中央编办直接管理机构编制的群众团体",
    "19": "其他",
    "21": "外国常住新闻机构",
    "29": "其他",
    "31": "律师执业机构",
    "32": "公证处",
    "33": "基层法律服务所",
    "34": "司法鉴定机构",
    "35": "仲裁委员会",
    "39": "其他",
    "41": "外国在华文化中心",
    "49": "其他",
    "51": "社会团体",
    "52": "民办非企业单位",
    "53": "基金会",
    "59": "其他",
    "61": "外国旅游部门常驻代表机构",
    "62": "港澳台地区旅游部门常驻内地（大陆）代表机构",
    "69": "其他",
    "71": "宗教活动场所",
    "72": "宗教院校",
    "79": "其他",
    "81": "基层工会",
    "89": "其他",
    "91": "企业",
    "92": "个体工商户",
    "93": "农民专业合作社",
    "A1": "军队事业单位",
    "A9": "其他",
    "N1": "组级集体经济组织",
    "N2": "村级集体经济组织",
    "N3": "乡镇级集体经济组织",
    "N9": "其他",
    "Y1": "其他",
}

_MESSAGES = {
    "ok": "统一社会信用代码有效",
    "empty": "统一社会信用代码为空",
    "shape": "统一社会信用代码格式错误：应为18位，首位为登记管理部门代码（1-9、A、N、Y），"
    "第3-8位为数字，不含I、O、Z、S、V",
    "checksum": "统一社会信用代码校验码错误（可能为早期试点代码，需人工核查）",
}


@dataclass(frozen=True)
class UsccCheck:
    """Outcome of :func:`check_uscc`; ``code`` is 'ok', 'empty', 'shape' or 'checksum'.

    The parts (department name, organisation-type name, division code, 9-character
    organisation code) are filled in whenever the shape is right, even on a checksum failure.
    """

    valid: bool
    code: str
    message: str
    normalized: str | None = None
    department: str | None = None
    org_type_name: str | None = None
    division_code: str | None = None
    org_code: str | None = None


def uscc_check_char(first17: str) -> str:
    """Check character for the first 17 characters (already upper-case)."""
    if not isinstance(first17, str) or not _BODY17.fullmatch(first17):
        raise ValueError("需要17位统一社会信用代码字符（不含I、O、Z、S、V）")
    total = sum(_VALUE[c] * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def check_uscc(value: str) -> UsccCheck:
    """Validate a unified social credit code (spaces removed, lower case tolerated)."""
    s = as_text(value)
    s = "" if s is None else ascii_upper(remove_ws(s))
    if not s:
        return UsccCheck(False, "empty", _MESSAGES["empty"])
    if len(s) != 18 or not _SHAPE.fullmatch(s):
        return UsccCheck(False, "shape", _MESSAGES["shape"])
    code = "ok" if uscc_check_char(s[:17]) == s[17] else "checksum"
    return UsccCheck(
        valid=code == "ok",
        code=code,
        message=_MESSAGES[code],
        normalized=s if code == "ok" else None,
        department=DEPARTMENTS.get(s[0]),
        org_type_name=ORG_TYPES.get(s[:2]),
        division_code=s[2:8],
        org_code=s[8:17],
    )


def is_valid_uscc(value: str) -> bool:
    """True if :func:`check_uscc` accepts the value."""
    return check_uscc(value).valid
