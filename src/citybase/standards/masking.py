"""Display masking per government convention (GB/T 35273-2020 §7.2, GB/T 37964).

| field     | rule                                   | example                 |
|-----------|----------------------------------------|-------------------------|
| name      | keep the first character               | 张三丰 → 张**            |
| ID number | keep first 6 and last 4                | 320281********1233      |
| mobile    | keep first 3 and last 4                | 138****5678             |
| bank card | keep first 6 and last 4                | 622202*********1234     |
| address   | keep province / city / district        | 江苏省无锡市梁溪区****** |
| email     | keep first character of the local part | d*****@example.com      |
| plate     | keep first 3 and last 1                | 苏B4***0                |
| other     | keep first and last character          | 无锡********局          |

Every function accepts any value (None → None, non-strings via ``str``) and never raises.
Masks preserve length, one ``*`` per hidden character.  Too-short values fall back to the
generic rule so that something is always hidden.  The SQL macros ``cb_mask_*`` in
:mod:`citybase.standards.sql` produce identical output.

The address rule is a heuristic: up to three leading units ending in 省/自治区/特别行政区,
then 市/自治州/地区/盟, then 区/县/市/旗 are kept; unit names may not contain digits, blanks or
street-level characters (路 街 巷 号 镇 乡 村 小 社 园 苑 楼 栋 室 道), so a doubtful unit is
masked rather than shown.

Which rule applies to a field is decided here too, once for the whole platform: see
:func:`field_mask_kind` (every serving path — lake samples, exchange, quality samples, base
libraries, open data, work orders — asks it).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ._text import WS_CHARS, as_text, remove_ws, remove_ws_dash
from .formats import MOBILE_PATTERN

__all__ = [
    "ADDRESS_PREFIX_PATTERN",
    "MASK_KINDS",
    "element_mask_kind",
    "field_mask_kind",
    "mask_address",
    "mask_bank_card",
    "mask_email",
    "mask_generic",
    "mask_id_number",
    "mask_mobile",
    "mask_name",
    "mask_plate",
    "mask_value",
]

_UNIT = "[^省市区县旗盟路街巷号镇乡村小社园苑楼栋室道0-9" + WS_CHARS + "]"
ADDRESS_PREFIX_PATTERN = (
    f"^(?:{_UNIT}{{1,7}}?(?:省|自治区|特别行政区))?"
    f"(?:{_UNIT}{{1,9}}?(?:自治州|地区|市|盟))?"
    f"(?:{_UNIT}{{1,15}}?(?:区|县|市|旗))?"
)
_ADDRESS_PREFIX = re.compile(ADDRESS_PREFIX_PATTERN)
_MOBILE = re.compile(MOBILE_PATTERN)
_PLATE_DROP = {ord("·"): None, ord("-"): None, **{ord(c): None for c in WS_CHARS}}


def _keep(s: str, head: int, tail: int) -> str:
    """Keep ``head`` and ``tail`` characters, star the middle; generic rule if too short."""
    n = len(s)
    if n <= head + tail:
        return mask_generic(s)
    return s[:head] + "*" * (n - head - tail) + (s[n - tail :] if tail else "")


def mask_generic(value: object) -> str | None:
    """Keep the first and last character ('' stays '', 1 char → '*', 2 chars → 'a*')."""
    s = as_text(value)
    if s is None:
        return None
    n = len(s)
    if n <= 1:
        return "*" * n
    if n == 2:
        return s[0] + "*"
    return s[0] + "*" * (n - 2) + s[-1]


def mask_name(value: object) -> str | None:
    """张三丰 → 张**; a one-character name becomes '*'."""
    s = as_text(value)
    if s is None:
        return None
    s = s.strip(WS_CHARS)
    n = len(s)
    if n <= 1:
        return "*" * n
    return s[0] + "*" * (n - 1)


def mask_id_number(value: object) -> str | None:
    """Keep the first 6 and last 4 characters: 320281********1233."""
    s = as_text(value)
    return None if s is None else _keep(remove_ws(s), 6, 4)


def mask_mobile(value: object) -> str | None:
    """138****5678 (a +86/0086 prefix is dropped first); other numbers keep 3 + 4."""
    s = as_text(value)
    if s is None:
        return None
    s = remove_ws_dash(s)
    if _MOBILE.fullmatch(s):
        s = s[-11:]
    return _keep(s, 3, 4)


def mask_bank_card(value: object) -> str | None:
    """Keep the first 6 and last 4 digits."""
    s = as_text(value)
    return None if s is None else _keep(remove_ws_dash(s), 6, 4)


def mask_email(value: object) -> str | None:
    """d*****@example.com: first character of the local part, domain kept."""
    s = as_text(value)
    if s is None:
        return None
    s = s.strip(WS_CHARS)
    at = s.find("@")
    if at <= 0:
        return mask_generic(s)
    local = s[:at]
    return local[0] + "*" * (len(local) - 1) + s[at:] if len(local) > 1 else "*" + s[at:]


def mask_plate(value: object) -> str | None:
    """苏B45670 → 苏B4***0 (separators · and - removed)."""
    s = as_text(value)
    return None if s is None else _keep(s.translate(_PLATE_DROP), 3, 1)


def mask_address(value: object) -> str | None:
    """Keep province / city / district, star the rest: 江苏省无锡市梁溪区******."""
    s = as_text(value)
    if s is None:
        return None
    s = s.strip(WS_CHARS)
    m = _ADDRESS_PREFIX.match(s)
    prefix = m.group(0) if m else ""
    if not prefix:  # nothing recognised: keep only the first character (if there is more than one)
        return s[:1] + "*" * (len(s) - 1) if len(s) > 1 else "*" * len(s)
    return prefix + "*" * (len(s) - len(prefix))


def mask_hidden(value: object) -> str | None:
    """Nothing shown: for a value whose visible part would narrow down another masked one (a birth
    date is the eight hidden digits of a masked ID number)."""
    s = as_text(value)
    return None if s is None else "******"


MASK_KINDS: dict[str, Callable[[object], str | None]] = {
    "hidden": mask_hidden,
    "name": mask_name,
    "cn_id_card": mask_id_number,
    "mobile": mask_mobile,
    "bank_card": mask_bank_card,
    "address": mask_address,
    "email": mask_email,
    "plate": mask_plate,
}


def mask_value(kind: str, value: object) -> str | None:
    """Mask ``value`` by ``kind`` (see :data:`MASK_KINDS`); unknown kinds use the generic rule."""
    if value is None:
        return None
    try:
        fn = MASK_KINDS.get(str(kind), mask_generic)
        return fn(value)
    except Exception:  # never raise on odd input: hide everything instead
        s = as_text(value) or ""
        return "*" * len(s)


# ---------------------------------------------------------------- the policy: which rule a field gets

_NAME_FIELD = re.compile(r"(^name$|^xm$|姓名|legal_rep|法定代表人|联系人|负责人)", re.I)
_ADDRESS_FIELD = re.compile(r"(address|addr|dz$|地址|住址)", re.I)
# a birth date is part of the ID number: any of its digits shown beside a masked ID narrows the ID down
_BIRTH_FIELD = re.compile(r"(^csrq$|birth|出生日期|出生年月|生日)", re.I)
_ELEMENT_KINDS = {"cn_id_card": "cn_id_card", "mobile": "mobile"}


def field_mask_kind(field: object, *, public: bool = False) -> str | None:
    """How a field is shown wherever it is served without a clear-text grant: the masking kind for
    :func:`mask_value`, or None when it is shown as stored.

    ``field`` is anything with ``name``, ``label``, ``element`` (data element) and ``grading``
    (L1–L4) attributes: a catalogue 信息项, a base-library attribute. By data element first (ID
    numbers, mobiles), then names (graded L2 and up, or labelled 姓名) and addresses (L3 and up) by
    their name or label, then by grading alone (L3/L4 → generic).

    ``public=True`` is the open-data portal (anyone on the internet): L3/L4 fields are never served
    there (callers leave them out), and an L2 field with no rule of its own is masked generically."""
    element = getattr(field, "element", None) or ""
    grading = getattr(field, "grading", None) or "L1"
    name = getattr(field, "name", None) or ""
    label = getattr(field, "label", None) or ""
    kind = _field_rule(element, grading, name, label)
    if kind is None and public and grading == "L2":
        return "generic"
    return kind


def _field_rule(element: str, grading: str, name: str, label: str) -> str | None:
    if element in _ELEMENT_KINDS:
        return _ELEMENT_KINDS[element]
    if _NAME_FIELD.search(name) or _NAME_FIELD.search(label):
        return "name" if grading in ("L2", "L3", "L4") or "姓名" in label else None
    if _ADDRESS_FIELD.search(name) or _ADDRESS_FIELD.search(label):
        return "address" if grading in ("L3", "L4") else None
    if (_BIRTH_FIELD.search(name) or _BIRTH_FIELD.search(label)) and grading in ("L2", "L3", "L4"):
        return "hidden"
    if grading in ("L3", "L4"):
        return "generic"
    return None


def element_mask_kind(element: str) -> str:
    """The masking kind for values of a data element shown where every value is masked (the values
    of a 一数一源 conflict): the element's own rule, else the generic one."""
    return _ELEMENT_KINDS.get(element, "generic")
