"""The in-process spatial index of the grid layer: point → grid, one point or millions.

Rule for points on a shared edge or corner: among the grids whose polygon *covers* the point
(interior or boundary), the one with the lowest code wins. Grids are kept sorted by code, so
"lowest code" is "lowest position" in the index.

Two paths give the same answers:

* :meth:`GridIndex.locate_one` and the exact fallback: a shapely 2 ``STRtree`` queried with
  ``predicate="covered_by"``;
* :meth:`GridIndex.locate_many`: a bucket raster over the layer's bounding box, built once.
  A bucket that no grid boundary touches lies wholly inside one grid (or wholly outside every
  grid) and answers with a table look-up. Such buckets form connected regions; one STRtree query
  per region labels them all (``scipy.ndimage.label``). A bucket a boundary passes through keeps
  the list of grids whose boundary touches it; points there are tested with the vectorised,
  prepared ``shapely.intersects_xy`` (a point intersects a polygon exactly when the polygon
  covers it) in code order, so the first hit is the lowest code — the same rule as the exact path.

Why a bucket no boundary touches is "pure": boundaries are densified so consecutive vertices are
at most half a bucket apart. A segment then spans at most two buckets in each direction, and the
buckets it passes through lie in the 2 × 2 rectangle spanned by its end points' buckets; all of
them are marked. Buckets are half-open ([x0, x0 + b) × [y0, y0 + b)); points and vertices are
bucketed by the same arithmetic, so a point on a boundary always falls in a marked bucket.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy import ndimage
from shapely.geometry.base import BaseGeometry

OUTSIDE = -1
MAX_BUCKETS = 8_000_000


@dataclass
class _Raster:
    x0: float
    y0: float
    dx: float
    dy: float
    nx: int
    ny: int
    cells: np.ndarray  # int32 (ny*nx): >=0 grid position, -1 outside, <= -2 mixed bucket (-2 - id)
    cand_start: np.ndarray  # int64 (n_mixed + 1)
    cand: np.ndarray  # int32 candidate grid positions, ascending within a bucket
    max_cands: int


@dataclass
class GridIndex:
    """Immutable index over grid polygons sorted by code."""

    codes: np.ndarray  # str codes, ascending
    geoms: np.ndarray  # shapely (Multi)Polygons, prepared
    tree: shapely.STRtree = field(init=False)
    _raster: _Raster | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        order = np.argsort(self.codes, kind="stable")
        self.codes = np.asarray(self.codes)[order]
        self.geoms = np.asarray(self.geoms, dtype=object)[order]
        shapely.prepare(self.geoms)
        self.tree = shapely.STRtree(self.geoms)

    @classmethod
    def from_geojson(cls, codes: list[str], geometries: list[str]) -> GridIndex:
        geoms = shapely.from_geojson(np.asarray(geometries, dtype=object))
        return cls(np.asarray(codes, dtype=object), geoms)

    def __len__(self) -> int:
        return len(self.codes)

    # ------------------------------------------------------------------ exact path

    def locate_one(self, lon: float, lat: float) -> int | None:
        """Position of the grid covering the point (lowest code on shared edges), or None."""
        if not (np.isfinite(lon) and np.isfinite(lat)) or len(self.codes) == 0:
            return None
        hits = self.tree.query(shapely.Point(float(lon), float(lat)), predicate="covered_by")
        return int(hits.min()) if len(hits) else None

    def _exact_many(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        out = np.full(len(xs), OUTSIDE, dtype=np.int32)
        if len(xs) == 0 or len(self.codes) == 0:
            return out
        pairs = self.tree.query(shapely.points(xs, ys), predicate="covered_by")
        if pairs.shape[1]:
            # lowest grid position per point
            order = np.lexsort((pairs[1], pairs[0]))
            p, g = pairs[0][order], pairs[1][order]
            first = np.ones(len(p), dtype=bool)
            first[1:] = p[1:] != p[:-1]
            out[p[first]] = g[first]
        return out

    # ------------------------------------------------------------------ bulk path

    def locate_many(self, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        """Grid positions (int32, -1 outside) for arrays of WGS84 lon/lat."""
        xs = np.ascontiguousarray(lons, dtype=np.float64).ravel()
        ys = np.ascontiguousarray(lats, dtype=np.float64).ravel()
        if xs.shape != ys.shape:
            raise ValueError("lons and lats must have the same length")
        n = len(xs)
        out = np.full(n, OUTSIDE, dtype=np.int32)
        if n == 0 or len(self.codes) == 0:
            return out
        if n < 2000:  # building the raster does not pay for a handful of points
            return self._exact_many(xs, ys)
        r = self.raster()
        fx = (xs - r.x0) / r.dx
        fy = (ys - r.y0) / r.dy
        inside = (fx >= 0) & (fx < r.nx) & (fy >= 0) & (fy < r.ny)  # NaN compares False
        idx = np.flatnonzero(inside)
        bucket = fy[idx].astype(np.int64) * r.nx + fx[idx].astype(np.int64)
        val = r.cells[bucket]
        out[idx] = np.where(val >= 0, val, OUTSIDE)
        mixed = val <= -2
        if not mixed.any():
            return out
        pts = idx[mixed]
        mid = (-2 - val[mixed]).astype(np.int64)
        start = r.cand_start[mid]
        count = r.cand_start[mid + 1] - start
        todo = np.ones(len(pts), dtype=bool)
        out[pts] = OUTSIDE
        for k in range(r.max_cands):  # candidates in code order: the first that covers the point wins
            sel = np.flatnonzero(todo & (count > k))
            if len(sel) == 0:
                break
            g = r.cand[start[sel] + k]
            hit = shapely.intersects_xy(self.geoms[g], xs[pts[sel]], ys[pts[sel]])
            out[pts[sel[hit]]] = g[hit]
            todo[sel[hit]] = False
        return out

    def raster(self) -> _Raster:
        if self._raster is None:
            self._raster = self._build_raster()
        return self._raster

    def _build_raster(self) -> _Raster:
        geoms = self.geoms
        minx, miny, maxx, maxy = shapely.total_bounds(geoms)
        # bucket edge: a small fraction of a typical grid, within a memory budget
        b = shapely.bounds(geoms)
        typical = float(np.median(np.sqrt((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))))
        size = max(typical / 20.0, 1e-7)
        width, height = (maxx - minx) or size, (maxy - miny) or size
        while (width / size + 3) * (height / size + 3) > MAX_BUCKETS:
            size *= 1.25
        x0, y0 = minx - size, miny - size
        nx = int(np.ceil((maxx - x0) / size)) + 2
        ny = int(np.ceil((maxy - y0) / size)) + 2

        # densified boundaries: consecutive vertices at most half a bucket apart, so each segment
        # lies within the (at most 2 × 2) rectangle of buckets spanned by its two end points
        lines, _ = shapely.get_parts(shapely.boundary(geoms), return_index=True)
        lines = shapely.segmentize(lines, size / 2.0)
        coords, part = shapely.get_coordinates(lines, return_index=True)
        cx = np.floor((coords[:, 0] - x0) / size).astype(np.int64)
        cy = np.floor((coords[:, 1] - y0) / size).astype(np.int64)
        seg = np.flatnonzero(part[1:] == part[:-1])
        marked = _sorted_unique(np.concatenate([cy * nx + cx, cy[seg] * nx + cx[seg + 1],
                                                cy[seg + 1] * nx + cx[seg]]))
        # the candidates of a marked bucket: exactly the grids that intersect its closed square
        my, mx = np.divmod(marked, nx)
        boxes = shapely.box(x0 + mx * size, y0 + my * size, x0 + (mx + 1) * size, y0 + (my + 1) * size)
        bi, gi = self.tree.query(boxes, predicate="intersects")
        order = np.lexsort((gi, bi))
        bi, gi = bi[order], gi[order]
        has = np.zeros(len(marked), dtype=bool)
        has[bi] = True
        # marked buckets no grid touches are simply outside
        keep = np.flatnonzero(has)
        remap = np.full(len(marked), -1, dtype=np.int64)
        remap[keep] = np.arange(len(keep))
        mixed_buckets = marked[keep]
        pg = gi
        counts = np.bincount(remap[bi], minlength=len(keep))
        cand_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        cand_count = counts

        cells = np.full(ny * nx, OUTSIDE, dtype=np.int32)
        pure = np.ones(ny * nx, dtype=bool)
        pure[marked] = False
        labels, n_regions = ndimage.label(pure.reshape(ny, nx))
        labels = labels.ravel()
        if n_regions:
            nz = np.flatnonzero(labels)
            first = np.full(n_regions + 1, -1, dtype=np.int64)
            rev = nz[::-1]
            first[labels[rev]] = rev  # the last write wins: the first bucket of each region
            reps = first[1:]
            ry, rx = np.divmod(reps, nx)
            lut = np.full(n_regions + 1, OUTSIDE, dtype=np.int32)
            lut[1:] = self._exact_many(x0 + (rx + 0.5) * size, y0 + (ry + 0.5) * size)
            cells = lut[labels]
            cells[labels == 0] = OUTSIDE
        cells[mixed_buckets] = -2 - np.arange(len(mixed_buckets), dtype=np.int32)
        return _Raster(x0=x0, y0=y0, dx=size, dy=size, nx=nx, ny=ny, cells=cells,
                       cand_start=cand_start, cand=pg.astype(np.int32),
                       max_cands=int(cand_count.max()) if len(cand_count) else 0)


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    """``np.unique`` by sorting (numpy's hash-based unique is slow on large int64 arrays)."""
    a = np.sort(a, kind="stable")
    if len(a) < 2:
        return a
    keep = np.ones(len(a), dtype=bool)
    keep[1:] = a[1:] != a[:-1]
    return a[keep]


def make_index(codes: list[str], geoms: list[BaseGeometry]) -> GridIndex:
    return GridIndex(np.asarray(codes, dtype=object), np.asarray(geoms, dtype=object))
