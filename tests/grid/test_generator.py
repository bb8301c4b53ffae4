"""The demo generator: valid, non-overlapping grids covering the real districts, hierarchical codes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely

from citybase.core.errors import BadInput
from citybase.core.identity.principal import SYSTEM
from citybase.db import make_session, session_scope
from citybase.grid import service
from citybase.grid.generator import generate_layout
from citybase.reference import divisions


@pytest.fixture(scope="module")
def wuxi():
    return generate_layout("320200", seed=2026, target_km2=service.DEFAULT_TARGET_KM2)


def test_whole_city_layout_is_a_partition_of_every_district(wuxi):
    bounds = divisions.district_boundaries("320200")
    geoms = np.asarray([g.geometry for g in wuxi.grids], dtype=object)
    assert 2000 <= len(geoms) <= 5000
    assert shapely.is_valid(geoms).all()
    assert all(g.geom_type in ("Polygon", "MultiPolygon") for g in geoms)
    # no overlaps: total pairwise intersection area is negligible
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    sel = a < b
    overlap = shapely.area(shapely.intersection(geoms[a[sel]], geoms[b[sel]])).sum()
    total = sum(g.area for g in bounds.values())
    assert overlap / total < 1e-6
    # coverage of each district ≥ 99 %, and grids stay inside their district
    for code, boundary in bounds.items():
        mine = shapely.union_all([g.geometry for g in wuxi.grids if g.code.startswith(code)])
        assert mine.intersection(boundary).area / boundary.area >= 0.99, code
        assert mine.difference(boundary).area / boundary.area < 1e-6, code
    # realistic grid sizes
    areas = np.array([service.area_km2(g) for g in geoms])
    assert 0.2 < np.median(areas) < 1.5 and areas.min() > 0.05 and areas.max() < 6


def test_codes_are_hierarchical_and_unique(wuxi):
    streets = {s.code: s for s in divisions.streets("320200")}
    codes = [g.code for g in wuxi.grids]
    assert len(codes) == len(set(codes))
    comms = {c.code: c for c in wuxi.communities}
    assert set(streets) == set(wuxi.streets)  # every street of the city gets an area
    for g in wuxi.grids:
        assert len(g.code) == 15 and g.code.isdigit()
        assert g.code[:9] in streets and g.code[:12] in comms
        assert g.name.startswith(comms[g.code[:12]].name) and g.name.endswith("网格")
    for c in wuxi.communities:
        street = streets[c.code[:9]]
        if c.kind == "村":
            assert street.kind in ("镇", "乡") and int(c.code[9:]) >= 200 and c.name.endswith("村")
        else:
            assert 1 <= int(c.code[9:]) < 200 and c.name.endswith("社区")
    # names unique within a street
    by_street: dict[str, list[str]] = {}
    for c in wuxi.communities:
        by_street.setdefault(c.code[:9], []).append(c.name)
    assert all(len(v) == len(set(v)) for v in by_street.values())


def test_deterministic_for_a_seed():
    one = generate_layout("320200", seed=7, district_codes=["320213"])
    two = generate_layout("320200", seed=7, district_codes=["320213"])
    other = generate_layout("320200", seed=8, district_codes=["320213"])
    assert [(g.code, g.geometry.wkb) for g in one.grids] == [(g.code, g.geometry.wkb) for g in two.grids]
    assert [g.geometry.wkb for g in one.grids] != [g.geometry.wkb for g in other.grids]


def test_generate_service_writes_the_layer_and_lookups_follow(city):
    with session_scope() as s:
        result = service.generate(s, SYSTEM, seed=3, district_codes=["320213"])
    assert result.districts == 1 and result.streets == 9 and result.grids > 50
    with make_session() as s:
        fc = service.grids_geojson(s)
        assert len(fc["features"]) == result.grids and "并非真实名录" in fc["metadata"]["note"]
        f = fc["features"][10]
        x, y = f["properties"]["cp"]
        hit = service.locate(s, x, y)
        assert hit.grid_code == f["properties"]["code"] and hit.district_name == "梁溪区"
        # bulk lookup agrees with single lookups over the district
        rng = np.random.default_rng(1)
        minx, miny, maxx, maxy = divisions.district_boundaries()["320213"].bounds
        xs, ys = rng.uniform(minx, maxx, 2500), rng.uniform(miny, maxy, 2500)
        # plus points exactly on grid boundaries: vertices and edge midpoints of 40 grids
        ring = np.concatenate([np.asarray(shapely.get_coordinates(shapely.from_geojson(json.dumps(f["geometry"]))))
                               for f in fc["features"][:40]])
        mids = (ring[1:] + ring[:-1]) / 2
        xs = np.concatenate([xs, ring[:, 0], mids[:, 0]])
        ys = np.concatenate([ys, ring[:, 1], mids[:, 1]])
        bulk = service.locate_many(s, xs, ys)
        single = [getattr(service.locate(s, a, b), "grid_code", None) for a, b in zip(xs, ys, strict=True)]
        assert list(bulk) == single and 0 < sum(c is None for c in single[:2500]) < 2500
        assert all(c is not None for c in single[2500:2500 + len(ring)])  # grid vertices are in a grid
    with pytest.raises(BadInput) as exc, session_scope() as s:
        service.generate(s, SYSTEM, target_km2=100)
    assert exc.value.code == "bad_target_area"
    with pytest.raises(BadInput) as exc, session_scope() as s:
        service.generate(s, SYSTEM, district_codes=["310101"])
    assert exc.value.code == "unknown_district"
