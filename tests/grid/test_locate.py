"""Point → grid lookup: inside, on shared edges and corners (deterministic), outside the city."""

from __future__ import annotations

import numpy as np
import pytest

from citybase.core.errors import BadInput
from citybase.db import make_session
from citybase.grid import service
from tests.grid.conftest import STEP, X0, XS, Y0, YS

W1, W2 = "320213021001001", "320213021001002"  # west column, south and north
E1, E2 = "320213021002001", "320213021002002"  # east column


def test_point_inside_a_grid_gives_the_whole_chain(block):
    with make_session() as s:
        hit = service.locate(s, X0 + 0.3 * STEP, Y0 + 0.4 * STEP)
    assert hit is not None
    assert hit.grid_code == W1
    assert hit.community_code == W1[:12] and hit.community_name == "春江社区"
    assert hit.street_code == "320213021" and hit.street_name == "崇安寺街道"
    assert hit.district_code == "320213" and hit.district_name == "梁溪区"
    assert hit.grid_name == "春江社区第1网格"


def test_points_on_shared_edges_and_corner_go_to_the_lowest_code(block):
    with make_session() as s:
        # vertical edge between W1 and E1
        assert service.locate(s, XS[1], 31.565).grid_code == W1
        # horizontal edge between E1 and E2
        assert service.locate(s, 120.305, YS[1]).grid_code == E1
        # the corner shared by all four
        assert service.locate(s, XS[1], YS[1]).grid_code == W1
        # the outer boundary still belongs to its only grid
        assert service.locate(s, XS[2], 31.575).grid_code == E2


def test_outside_every_grid_is_none_and_a_clear_error(block):
    with make_session() as s:
        assert service.locate(s, 116.39, 39.91) is None  # Beijing
        assert service.locate(s, X0 - 0.001, Y0 + 0.005) is None  # just west of the block
        with pytest.raises(BadInput) as exc:
            service.locate_or_error(s, 116.39, 39.91)
        assert exc.value.code == "outside_city" and "不在本市任何网格内" in exc.value.message
        with pytest.raises(BadInput) as exc:
            service.locate_or_error(s, 200, 31)
        assert exc.value.code == "bad_coordinates"


def test_locate_many_agrees_with_locate_including_boundaries(block):
    rng = np.random.default_rng(7)
    n = 20000  # enough to take the raster path
    lons = rng.uniform(X0 - 0.005, X0 + 2 * STEP + 0.005, n)
    lats = rng.uniform(Y0 - 0.005, Y0 + 2 * STEP + 0.005, n)
    # put some points exactly on edges and the corner
    lons[:100], lats[:100] = XS[1], rng.uniform(Y0, Y0 + 2 * STEP, 100)
    lons[100:200], lats[100:200] = rng.uniform(X0, X0 + 2 * STEP, 100), YS[1]
    lons[200], lats[200] = XS[1], YS[1]
    lons[201], lats[201] = np.nan, Y0
    with make_session() as s:
        codes = service.locate_many(s, lons, lats)
        expected = [getattr(service.locate(s, x, y), "grid_code", None) for x, y in zip(lons[:800], lats[:800],
                                                                                        strict=True)]
    assert list(codes[:800]) == expected
    assert codes[200] == W1 and codes[201] is None
    assert set(codes[:100]) == {W1, W2}  # the west grid wins the shared vertical edge
    inside = (lons > X0) & (lons < X0 + 2 * STEP) & (lats > Y0) & (lats < Y0 + 2 * STEP)
    assert all(c is not None for c in codes[inside])
    assert all(c is None for c in codes[~inside & ~np.isnan(lons) & ((lons < X0) | (lats < Y0))])


def test_workers_get_grid_and_geojson(block):
    from citybase.core.identity.principal import SYSTEM
    from citybase.db import session_scope

    with session_scope() as s:
        service.assign_worker(s, SYSTEM, W1, "grid_worker")
    with make_session() as s:
        assert service.grid_workers(s, W1) == ["grid_worker"]
        assert service.grid_workers(s, E1) == []
        assert service.worker_grids(s, "grid_worker") == [W1]
        g = service.get_grid(s, W1)
        assert g.workers == ["grid_worker"] and g.street_name == "崇安寺街道"
        assert 0.9 < g.area_km2 < 1.2
        fc = service.grids_geojson(s)
        assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 4
        props = {f["properties"]["code"]: f["properties"] for f in fc["features"]}
        assert props[E2]["community_name"] == "清扬社区" and props[E2]["district_name"] == "梁溪区"
        assert service.grids_geojson(s, district_code="320205")["features"] == []


def test_a_recent_layer_version_is_trusted_for_max_age_and_own_changes_apply_at_once(block):
    """The intake API locates with max_age: the layer version read moments ago is reused (another
    worker's change shows within max_age); a change made through this process applies at once."""
    from sqlalchemy import delete, update

    from citybase.core.identity.principal import SYSTEM
    from citybase.db import session_scope
    from citybase.grid.models import Grid, GridState
    from tests.grid.conftest import collection, square

    x, y = X0 + 0.3 * STEP, Y0 + 0.4 * STEP
    with make_session() as s:
        assert service.locator(s, max_age=60)(x, y).grid_code == W1
    with session_scope() as s:  # as another process would: the grids go, the version changes
        s.execute(delete(Grid))
        s.execute(update(GridState).where(GridState.key == "version").values(value="elsewhere"))
    with make_session() as s:
        assert service.locator(s, max_age=60)(x, y).grid_code == W1  # within max_age: the layer read before
        assert service.locator(s)(x, y) is None  # max_age 0: read now
    with session_scope() as s:  # through the service in this process: at once, even with max_age
        service.import_geojson(s, SYSTEM, collection([{"type": "Feature", "properties": {"code": E2, "community_name": "清扬社区"},
                                                       "geometry": square(0, 0)}]), source_label="again")
    with make_session() as s:
        assert service.locator(s, max_age=60)(x, y).grid_code == E2
