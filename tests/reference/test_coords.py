import math
import random

import pytest
import shapely

from citybase.reference.coords import gcj02_to_wgs84, out_of_china, transform_geometry, wgs84_to_gcj02


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Equirectangular distance, plenty for sub-kilometre comparisons."""
    lat = math.radians((a[1] + b[1]) / 2)
    dx = math.radians(a[0] - b[0]) * math.cos(lat) * 6371000
    dy = math.radians(a[1] - b[1]) * 6371000
    return math.hypot(dx, dy)


def test_known_forward_offset_in_wuxi_is_a_few_hundred_metres():
    wgs = (120.30, 31.57)
    gcj = wgs84_to_gcj02(*wgs)
    # AMap coordinates in Jiangsu sit ~0.0045° east and ~0.002° south of GPS (hundreds of metres).
    assert 0.003 < gcj[0] - wgs[0] < 0.006
    assert -0.004 < gcj[1] - wgs[1] < 0.0
    assert 200 < metres(wgs, gcj) < 800


@pytest.mark.parametrize("seed", range(5))
def test_round_trip_is_accurate_to_half_a_metre(seed):
    rng = random.Random(seed)
    for _ in range(200):
        lon, lat = rng.uniform(73.7, 134.7), rng.uniform(18.2, 53.5)
        back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
        assert metres((lon, lat), back) < 0.5
        # and the other way round
        again = wgs84_to_gcj02(*gcj02_to_wgs84(lon, lat))
        assert metres((lon, lat), again) < 0.5


def test_round_trip_is_in_fact_far_better_than_required():
    lon, lat = 120.3019, 31.5747
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert metres((lon, lat), back) < 0.001


def test_outside_china_is_unchanged():
    assert out_of_china(2.35, 48.85)
    assert not out_of_china(120.3, 31.5)
    assert wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)
    assert gcj02_to_wgs84(-74.0, 40.7) == (-74.0, 40.7)


def test_returns_plain_floats():
    lon, lat = gcj02_to_wgs84(120.3, 31.5)
    assert type(lon) is float and type(lat) is float


def test_transform_geometry_matches_point_function():
    poly = shapely.Polygon([(120.2, 31.5), (120.4, 31.5), (120.4, 31.6), (120.2, 31.6)])
    hole_poly = shapely.Polygon(poly.exterior.coords, [[(120.25, 31.52), (120.3, 31.52), (120.3, 31.55)]])
    multi = shapely.MultiPolygon([poly, shapely.box(120.5, 31.7, 120.6, 31.8)])
    for geom in (
        poly,
        hole_poly,
        multi,
        shapely.Point(120.3, 31.55),
        shapely.LineString([(120.1, 31.1), (120.2, 31.2)]),
    ):
        out = transform_geometry(geom, gcj02_to_wgs84)
        assert out.geom_type == geom.geom_type
        src = shapely.get_coordinates(geom)
        dst = shapely.get_coordinates(out)
        assert len(src) == len(dst)
        for (x, y), (u, v) in zip(src, dst, strict=True):
            assert (u, v) == pytest.approx(gcj02_to_wgs84(x, y), abs=1e-9)


def test_transform_geometry_with_any_point_function():
    line = shapely.LineString([(1, 2), (3, 4)])
    out = transform_geometry(line, lambda x, y: (x + 10, y * 2))
    assert list(out.coords) == [(11, 4), (13, 8)]
