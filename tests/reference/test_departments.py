from citybase.reference.departments import (
    BUREAU_KEY,
    bureau,
    department,
    department_keys,
    departments,
    org_units,
)
from citybase.reference.divisions import city_profile

REQUIRED_CITY_UNITS = {
    "gaj": "无锡市公安局",
    "dsj": "无锡市大数据管理局",
    "scjgj": "无锡市市场监督管理局",
    "sthjj": "无锡市生态环境局",
    "cgj": "无锡市城市管理局",
    "slj": "无锡市水利局",
    "jtysj": "无锡市交通运输局",
    "wjw": "无锡市卫生健康委员会",
    "mzj": "无锡市民政局",
    "rsj": "无锡市人力资源和社会保障局",
    "xzspj": "无锡市行政审批局",
    "yjj": "无锡市应急管理局",
    "zrzyghj": "无锡市自然资源和规划局",
    "zjj": "无锡市住房和城乡建设局",
    "jyj": "无锡市教育局",
    "swj": "国家税务总局无锡市税务局",
}


def test_city_level_units_named_in_the_plans_exist():
    city = {d.key: d for d in departments() if d.level == "city"}
    for key, name in REQUIRED_CITY_UNITS.items():
        assert city[key].name == name
        assert city[key].code == f"320200-{key}"
        assert city[key].division_code == "320200"
        assert city[key].parent_code == "320200"
    assert city["cgj"].short_name == "市城管局"
    assert city["dsj"].short_name == "市大数据管理局"


def test_codes_are_unique_and_well_formed():
    deps = departments()
    codes = [d.code for d in deps]
    assert len(codes) == len(set(codes))
    district_codes = set(city_profile().district_codes)
    for d in deps:
        division, key = d.code.split("-")
        assert division == d.division_code and key == d.key
        assert d.level == ("city" if division == "320200" else "district")
        if d.level == "district":
            assert division in district_codes
    assert len(set(department_keys())) == len(department_keys())


def test_district_counterparts_use_realistic_names():
    assert department("320213-cgj").name == "梁溪区城市管理局"
    assert department("320213-gaj").name == "无锡市公安局梁溪分局"
    assert department("320281-gaj").name == "江阴市公安局"
    assert department("320214-dsj").name == "新吴区大数据管理局"
    assert department("320213-sthjj").name == "无锡市梁溪生态环境局"
    assert department("320282-swj").name == "国家税务总局宜兴市税务局"
    # every district has police, city management and a big-data office
    for code in city_profile().district_codes:
        for key in ("gaj", "cgj", "dsj", "scjgj"):
            assert department(f"{code}-{key}").division_code == code
    # city-only units have no district counterparts
    assert not [d for d in departments() if d.key == "xfj" and d.level == "district"]


def test_big_data_bureau_is_flagged():
    assert BUREAU_KEY == "dsj"
    assert bureau().code == "320200-dsj"
    assert bureau().name == "无锡市大数据管理局"


def test_org_tree_lists_parents_before_children():
    units = org_units()
    seen: set[str] = set()
    kinds = {u.kind for u in units}
    assert kinds == {"city", "district", "street", "department"}
    for u in units:
        assert u.parent_code is None or u.parent_code in seen, u
        seen.add(u.code)
    assert len(seen) == len(units)
    street = next(u for u in units if u.kind == "street")
    assert len(street.code) == 9 and street.parent_code == street.code[:6]
    assert not [u for u in org_units(include_streets=False) if u.kind == "street"]
