"""WGS84 ⇄ GCJ-02 coordinate conversion.

GCJ-02 ("火星坐标") is the obfuscated datum every Chinese web map (AMap, Tencent) uses. The
forward transform (WGS84 → GCJ-02) is the widely published one; the inverse has no closed
form, so :func:`gcj02_to_wgs84` solves it by fixed-point iteration, which converges to well
below a millimetre in a handful of steps.

Points outside China are left unchanged, as the maps themselves do.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

__all__ = [
    "gcj02_to_wgs84",
    "out_of_china",
    "transform_geometry",
    "wgs84_to_gcj02",
]

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by GCJ-02
_EE = 0.00669342162296594323  # its first eccentricity squared
_INVERSE_TOLERANCE = 1e-10  # degrees (~0.01 mm)
_INVERSE_MAX_ITER = 30


def _out_of_china(lon, lat):
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def out_of_china(lon: float, lat: float) -> bool:
    """True when the point lies outside the rough bounding box where GCJ-02 applies."""
    return bool(_out_of_china(lon, lat))


def _delta(lon, lat):
    """GCJ-02 offset (dlon, dlat) in degrees at a WGS84 point; works on floats and arrays."""
    x = lon - 105.0
    y = lat - 35.0
    pi = math.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    t_lat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * sqrt_abs_x
        + common
        + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    )
    t_lon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * sqrt_abs_x
        + common
        + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    )
    rad_lat = lat / 180.0 * pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (t_lat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * pi)
    dlon = (t_lon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * pi)
    outside = _out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def _wgs84_to_gcj02_arrays(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlon, dlat = _delta(lon, lat)
    return lon + dlon, lat + dlat


def _gcj02_to_wgs84_arrays(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    w_lon, w_lat = lon.copy(), lat.copy()
    for _ in range(_INVERSE_MAX_ITER):
        g_lon, g_lat = _wgs84_to_gcj02_arrays(w_lon, w_lat)
        err_lon = g_lon - lon
        err_lat = g_lat - lat
        w_lon = w_lon - err_lon
        w_lat = w_lat - err_lat
        if np.all(np.abs(err_lon) < _INVERSE_TOLERANCE) and np.all(np.abs(err_lat) < _INVERSE_TOLERANCE):
            break
    return w_lon, w_lat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """Convert a WGS84 longitude/latitude to GCJ-02 (unchanged outside China)."""
    g_lon, g_lat = _wgs84_to_gcj02_arrays(np.float64(lon), np.float64(lat))
    return float(g_lon), float(g_lat)


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Convert a GCJ-02 longitude/latitude back to WGS84 (iterative; error far below 0.5 m)."""
    w_lon, w_lat = _gcj02_to_wgs84_arrays(np.float64(lon), np.float64(lat))
    return float(w_lon), float(w_lat)


_ARRAY_FORMS: dict[Callable, Callable] = {
    wgs84_to_gcj02: _wgs84_to_gcj02_arrays,
    gcj02_to_wgs84: _gcj02_to_wgs84_arrays,
}


def transform_geometry(geom: BaseGeometry, fn: Callable[[float, float], tuple[float, float]]) -> BaseGeometry:
    """Apply a point function ``fn(lon, lat) -> (lon, lat)`` to every vertex of a shapely geometry.

    The two converters of this module run vectorised over all vertices at once; any other
    function is called once per vertex. Z values, if any, are dropped.
    """
    array_fn = _ARRAY_FORMS.get(fn)

    def _apply(coords: np.ndarray) -> np.ndarray:
        if len(coords) == 0:
            return coords
        if array_fn is not None:
            xs, ys = array_fn(coords[:, 0], coords[:, 1])
            return np.column_stack([xs, ys])
        return np.array([fn(float(x), float(y)) for x, y in coords], dtype=float).reshape(-1, 2)

    return shapely.transform(geom, _apply)
