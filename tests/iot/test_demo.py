"""Demo placement: 太湖 buoys float in the lake (near the reference water points, the open-lake ones
inside the open-water outline), land devices stay out of the open water."""

from __future__ import annotations

import math
import random

from shapely.geometry import Point, Polygon

from citybase.iot import demo
from citybase.reference.divisions import city_data, city_profile, locate_district


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    k = 111_320.0
    return math.hypot((lon1 - lon2) * k * math.cos(math.radians(lat1)), (lat1 - lat2) * k)


def test_buoys_are_in_the_lake():
    water = Polygon(city_data()["demo"]["exclude_wgs84"][0])
    points = {p.key: p for p in city_profile().taihu_points}
    sites = demo.buoy_sites()
    assert len(sites) == 4 * len(points)
    for key, _name, lon, lat in sites:
        ref = points[key]
        assert _metres(lon, lat, ref.lon, ref.lat) <= 350  # within a few hundred metres of the water point
        assert locate_district(lon, lat) == ref.district_code  # in Wuxi's waters
    huxin = [(lon, lat) for key, _n, lon, lat in sites if key == "huxin"]
    assert huxin and all(water.contains(Point(x, y)) for x, y in huxin)


def test_land_devices_avoid_open_water():
    water = Polygon(city_data()["demo"]["exclude_wgs84"][0])
    pts = demo._land_points(400, random.Random(1))
    assert len(pts) == 400
    assert not any(water.contains(Point(x, y)) for _d, x, y in pts)
    assert {d for d, _x, _y in pts} == {d.code for d in city_profile().districts}
