"""Helpers for the grid tests: a small hand-made grid layer in 梁溪区 (a 2 × 2 block of squares)."""

from __future__ import annotations

import json

import pytest

X0, Y0, STEP = 120.29, 31.56, 0.01  # inside 梁溪区; squares ≈ 0.95 km × 1.1 km
XS = [120.29, 120.30, 120.31]  # exact edge coordinates (as stored)
YS = [31.56, 31.57, 31.58]
STREET = "320213021"  # 崇安寺街道


def square(ix: int, iy: int) -> dict:
    x, y, x1, y1 = XS[ix], YS[iy], XS[ix + 1], YS[iy + 1]
    return {"type": "Polygon", "coordinates": [[[x, y], [x1, y], [x1, y1], [x, y1], [x, y]]]}


def block_features() -> list[dict]:
    """Codes: community 001 holds the west column, community 002 the east column."""
    feats = []
    for ix in range(2):
        for iy in range(2):
            code = f"{STREET}{ix + 1:03d}{iy + 1:03d}"
            feats.append({"type": "Feature",
                          "properties": {"code": code, "community_name": ["春江社区", "清扬社区"][ix]},
                          "geometry": square(ix, iy)})
    return feats


def collection(features: list[dict]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)


@pytest.fixture
def block(city):
    """The city with the 2 × 2 block imported (codes 320213021001001 … 320213021002002)."""
    from citybase.core.identity.principal import SYSTEM
    from citybase.db import session_scope
    from citybase.grid import service

    with session_scope() as s:
        service.import_geojson(s, SYSTEM, collection(block_features()), source_label="test block")
    return city
