import random
import re
from collections import Counter
from datetime import date

import pytest
import shapely

from citybase.demo import synth
from citybase.demo.synth import ENTERPRISE_DEFECTS, PERSON_DEFECTS, enterprises, persons, random_points_in
from citybase.reference.divisions import city_profile, district_boundaries, streets

MOBILE = re.compile(r"^1[3-9]\d{9}$")
USCC_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
ID_WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def id_ok(number: str) -> bool:
    """Independent GB 11643 check (weights from 2^(17-i) mod 11)."""
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return False
    return "10X98765432"[sum(int(c) * w for c, w in zip(number, ID_WEIGHTS, strict=False)) % 11] == number[17]


def uscc_ok(code: str) -> bool:
    """Independent GB 32100 check (weights 3^i mod 31)."""
    if not USCC_SHAPE.fullmatch(code):
        return False
    total = sum(USCC_CHARS.index(c) * pow(3, i, 31) for i, c in enumerate(code[:17]))
    return USCC_CHARS[(31 - total % 31) % 31] == code[17]


def org_ok(code9: str) -> bool:
    """GB 11714 check on positions 9–17 of a credit code."""
    values = [int(c) if c.isdigit() else ord(c) - 55 for c in code9[:8]]
    c = 11 - sum(v * w for v, w in zip(values, [3, 7, 9, 10, 5, 8, 4, 2], strict=True)) % 11
    return code9[8] == ("X" if c == 10 else "0" if c == 11 else str(c))


def id_birth(number: str) -> date:
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def test_reference_examples_for_private_check_characters():
    assert synth._id_check("11010519491231002") == "X"
    assert synth._uscc_check("91110000600037341") == "L"
    assert synth._org_check("60003734") == "1"


def test_persons_are_deterministic():
    a = persons(500, seed=7)
    assert a == persons(500, seed=7)
    assert a != persons(500, seed=8)
    assert persons(300, seed=7, defects=0.1) == persons(300, seed=7, defects=0.1)
    assert enterprises(300, seed=7, defects=0.1) == enterprises(300, seed=7, defects=0.1)


def test_clean_persons_are_valid_and_consistent():
    rows = persons(3000, seed=1)
    profile = city_profile()
    address_codes = profile.address_codes()
    street_codes = {s.code: s.district_code for s in streets()}
    ids = [r["id_number"] for r in rows]
    assert len(set(ids)) == len(ids)
    historical_seen = set()
    for r in rows:
        assert r["_defect"] is None
        n = r["id_number"]
        assert id_ok(n), n
        assert n[:6] in address_codes
        if n[:6] not in profile.district_codes:
            historical_seen.add(n[:6])
        assert id_birth(n) == r["birth_date"]
        assert 1940 <= r["birth_date"].year <= 2010
        assert r["gender"] == ("男" if int(n[16]) % 2 else "女")
        assert MOBILE.fullmatch(r["mobile"])
        assert 2 <= len(r["name"]) <= 4
        assert r["district_code"] in profile.district_codes
        assert street_codes[r["street_code"]] == r["district_code"]
        district_name = profile.district(r["district_code"]).name
        assert r["address"].startswith("无锡市" + district_name)
        assert "号" in r["address"]
    # ID numbers carry historical codes too (崇安/南长/北塘, 无锡县, …)
    assert {"320202", "320203", "320204", "320222"} <= historical_seen


def test_points_lie_inside_their_district():
    bounds = district_boundaries()
    for rows in (persons(2000, seed=2), enterprises(1000, seed=2)):
        for r in rows:
            assert bounds[r["district_code"]].contains(shapely.Point(r["lon"], r["lat"])), r
    # and every district gets people roughly in proportion to its population
    counts = Counter(r["district_code"] for r in persons(5000, seed=3))
    assert counts["320281"] > counts["320213"] > 0
    assert set(counts) == set(bounds)


def test_random_points_in_geometry():
    geom = shapely.Polygon([(0, 0), (2, 0), (0, 2)])
    pts = random_points_in(geom, 500, random.Random(0))
    assert len(pts) == 500
    assert all(geom.contains(shapely.Point(p)) for p in pts)
    assert pts == random_points_in(geom, 500, random.Random(0))
    assert random_points_in(geom, 0, random.Random(0)) == []


def test_person_defect_counts_are_exact_and_real():
    n, share = 2000, 0.08
    rows = persons(n, seed=5, defects=share)
    counts = Counter(r["_defect"] for r in rows)
    assert sum(v for k, v in counts.items() if k) == round(n * share)
    assert set(counts) - {None} == set(PERSON_DEFECTS)
    assert all(counts[k] == round(n * share) // len(PERSON_DEFECTS) for k in PERSON_DEFECTS)
    id_counts = Counter(r["id_number"] for r in rows)
    for r in rows:
        kind, n_ = r["_defect"], r["id_number"]
        if kind == "bad_check":
            assert len(n_) == 18 and not id_ok(n_)
        elif kind == "birth_mismatch":
            assert id_ok(n_) and id_birth(n_) != r["birth_date"]
        elif kind == "missing_mobile":
            assert r["mobile"] is None
        elif kind == "bad_mobile":
            assert r["mobile"] and not MOBILE.fullmatch(r["mobile"])
        elif kind == "duplicate_id":
            assert id_ok(n_) and id_counts[n_] == 2
        elif kind == "lower_x":
            assert n_.endswith("x") and id_ok(n_.upper())
        elif kind == "legacy15":
            assert re.fullmatch(r"\d{15}", n_)
            assert date(1900 + int(n_[6:8]), int(n_[8:10]), int(n_[10:12])) == r["birth_date"]
            assert r["gender"] == ("男" if int(n_[14]) % 2 else "女")
        elif kind == "blank_name":
            assert r["name"] == ""
        else:
            assert id_ok(n_) and id_counts[n_] in (1, 2) and MOBILE.fullmatch(r["mobile"]) and r["name"]
    # a duplicated number is shared by exactly one clean row and its copy
    assert sum(1 for v in id_counts.values() if v > 1) == counts["duplicate_id"]


def test_clean_enterprises_are_valid():
    rows = enterprises(3000, seed=4)
    codes = [r["credit_code"] for r in rows]
    assert len(set(codes)) == len(codes)
    names = [r["name"] for r in rows if r["org_type"] not in ("机关", "军队单位")]
    assert len(set(names)) == len(names)
    profile = city_profile()
    known = set(profile.address_codes())
    prefixes = Counter(c[:2] for c in codes)
    assert prefixes["91"] > 0.7 * len(rows)
    assert prefixes["92"] > 0 and prefixes["93"] > 0
    assert {p[0] for p in prefixes} >= {"9", "1", "5", "N"}
    for r in rows:
        c = r["credit_code"]
        assert uscc_ok(c), c
        assert org_ok(c[8:17]), c
        assert c[2:8] in known
        assert r["legal_rep"]
        assert r["name"]
        assert date(1992, 1, 1) <= r["established"] <= date(2024, 12, 31)
        assert (c[8:10] == "MA") == (r["established"] >= date(2016, 1, 1))
        if c.startswith("91"):
            assert r["name"].endswith("有限公司")
            assert r["reg_capital"] > 0
            assert r["name"].startswith(("无锡", "江阴市", "宜兴市"))


def test_enterprise_defect_counts_are_exact_and_real():
    n, share = 1200, 0.05
    rows = enterprises(n, seed=9, defects=share)
    counts = Counter(r["_defect"] for r in rows)
    assert sum(v for k, v in counts.items() if k) == 60
    assert all(counts[k] == 10 for k in ENTERPRISE_DEFECTS)
    code_counts = Counter(r["credit_code"] for r in rows)
    for r in rows:
        kind, c = r["_defect"], r["credit_code"]
        if kind == "bad_check":
            assert USCC_SHAPE.fullmatch(c) and not uscc_ok(c)
        elif kind == "lower_case":
            assert c != c.upper() and uscc_ok(c.upper())
        elif kind == "missing_legal_rep":
            assert r["legal_rep"] is None and uscc_ok(c)
        elif kind == "duplicate_code":
            assert uscc_ok(c) and code_counts[c] == 2
        elif kind == "bad_length":
            assert len(c) == 17
        elif kind == "blank_name":
            assert r["name"] == "" and uscc_ok(c)
        else:
            assert uscc_ok(c) and code_counts[c] in (1, 2)
    assert sum(1 for v in code_counts.values() if v > 1) == counts["duplicate_code"]


def test_defect_share_is_bounded():
    with pytest.raises(ValueError):
        persons(10, defects=0.9)
    with pytest.raises(ValueError):
        enterprises(10, defects=-0.1)


def _verdict(result) -> bool:
    return bool(getattr(result, "valid", getattr(result, "ok", result)))


def test_agrees_with_citybase_standards():
    from citybase.standards.idcard import check_id, id_check_char
    from citybase.standards.orgcode import org_code_check_char
    from citybase.standards.uscc import uscc_check_char

    for r in persons(1000, seed=12):
        assert id_check_char(r["id_number"][:17]) == r["id_number"][17]
        assert _verdict(check_id(r["id_number"])), r["id_number"]  # historical codes accepted
    for r in enterprises(1000, seed=12):
        c = r["credit_code"]
        assert uscc_check_char(c[:17]) == c[17]
        assert org_code_check_char(c[8:16]) == c[16]
    # the defects a validator must catch are caught, the tolerated ones are tolerated
    for r in persons(800, seed=13, defects=0.2):
        expected = r["_defect"] != "bad_check"
        assert _verdict(check_id(r["id_number"])) == expected, r
