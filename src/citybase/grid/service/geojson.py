"""Parse and validate a grid layer given as GeoJSON. Pure: no database writes.

Expected input: a ``FeatureCollection`` in WGS84 lon/lat. Each feature:

* ``geometry``: ``Polygon`` or ``MultiPolygon``, valid (no self-intersection), inside the city;
* ``properties.code`` (or ``网格编码``): 15 digits = district 6 + street 3 + community 3 + grid 3;
  the district must be a current district of the city, the street one of that district's
  乡镇/街道 in the reference data;
* ``properties.name`` (or ``网格名称``): optional, default "<社区名>第N网格";
* ``properties.community_name`` (or ``社区名称``): required once per community unless that
  community already exists (merge mode); all features of a community must agree;
* ``properties.community_kind`` (or ``社区类型``): optional, 社区 or 村 (default: 村 when the name
  ends with 村).

Grids must not overlap each other (beyond 50 m² or 0.1 % of the smaller grid — digitising slop).
Every problem is reported in Chinese, naming the feature (第 N 个要素, counting from 1).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from citybase.core.errors import BadInput
from citybase.grid.service.layer import KM_PER_DEG_LAT, KM_PER_DEG_LON_EQ, CommunitySpec, GridSpec
from citybase.reference import divisions

MAX_FEATURES = 100_000
MAX_ERRORS = 50
DISTRICT_TOLERANCE_DEG = 0.01  # ≈ 1 km: reference boundaries and local survey data differ slightly
CODE_RE = re.compile(r"^\d{15}$")

_REASONS = [
    ("Self-intersection", "边界自相交"),
    ("Ring Self-intersection", "环自相交"),
    ("Too few points", "点数过少，无法构成多边形"),
    ("Hole lies outside shell", "内环（洞）位于外环之外"),
    ("Holes are nested", "内环相互嵌套"),
    ("Interior is disconnected", "内部不连通"),
    ("Nested shells", "多个外环相互嵌套"),
    ("Duplicate Rings", "存在重复的环"),
    ("Invalid Coordinate", "坐标无效"),
]


def _prop(props: dict, *names: str) -> Any:
    for n in names:
        if n in props and props[n] not in (None, ""):
            return props[n]
    return None


def _reason_cn(reason: str) -> str:
    for en, cn in _REASONS:
        if reason.startswith(en):
            where = reason[len(en):].strip(" []")
            return cn + (f"（位置 {where}）" if where else "")
    return reason


def _km2(geom: BaseGeometry) -> float:
    return float(geom.area * KM_PER_DEG_LAT * KM_PER_DEG_LON_EQ * math.cos(math.radians(geom.centroid.y)))


def _load(data: bytes | str | dict) -> dict:
    if isinstance(data, dict):
        return data
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadInput("文件不是 UTF-8 编码的 GeoJSON", code="bad_geojson") from None
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise BadInput(f"文件不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列附近有误", code="bad_geojson",
                       detail={"line": exc.lineno, "column": exc.colno}) from None


def parse_features(data: bytes | str | dict, *, city_code: str,
                   existing_communities: dict[str, tuple[str, str]] | None = None,
                   other_grids: list[tuple[str, str]] | None = None) -> tuple[list[CommunitySpec], list[GridSpec]]:
    """Validate ``data``; return the communities and grids it describes, or raise ``BadInput``.

    ``existing_communities``: code → (name, kind) already stored (merge mode);
    ``other_grids``: (code, GeoJSON geometry text) of stored grids the import keeps (merge mode),
    checked for overlaps with the new ones.
    """
    doc = _load(data)
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(
            doc.get("features"), list):
        raise BadInput("GeoJSON 顶层须为 FeatureCollection，且包含 features 数组", code="bad_geojson")
    features = doc["features"]
    if not features:
        raise BadInput("GeoJSON 中没有任何要素（features 为空）", code="empty_geojson")
    if len(features) > MAX_FEATURES:
        raise BadInput(f"要素过多：{len(features)} 个，单次最多导入 {MAX_FEATURES} 个", code="too_many_features")

    profile = divisions.city_profile(city_code)
    district_codes = set(profile.district_codes)
    street_codes = {s.code for s in divisions.streets(city_code)}
    bounds = divisions.district_boundaries(city_code)
    existing_communities = existing_communities or {}

    errors: list[dict[str, Any]] = []

    def err(i: int | None, code: str | None, message: str) -> None:
        prefix = f"第 {i} 个要素" if i is not None else "全局"
        if code:
            prefix += f"（编码 {code}）"
        errors.append({"index": i, "code": code, "message": f"{prefix}：{message}"})

    seen: dict[str, int] = {}
    good: list[tuple[int, str, str | None, BaseGeometry]] = []  # (index, code, name, geometry)
    comm_names: dict[str, dict[str, list[int]]] = {}
    comm_kinds: dict[str, str] = {}
    for i, feat in enumerate(features, start=1):
        if not isinstance(feat, dict) or feat.get("type") != "Feature":
            err(i, None, "不是 GeoJSON Feature 对象")
            continue
        props = feat.get("properties") or {}
        if not isinstance(props, dict):
            err(i, None, "properties 须为对象")
            continue
        raw_code = _prop(props, "code", "网格编码", "grid_code")
        code = str(raw_code).strip() if raw_code is not None else ""
        ok = True
        if not code:
            err(i, None, "缺少网格编码（properties.code）")
            ok = False
        elif not CODE_RE.fullmatch(code):
            err(i, code, "网格编码应为 15 位数字（区 6 位 + 街道 3 位 + 社区 3 位 + 网格 3 位）")
            ok = False
        else:
            if code in seen:
                err(i, code, f"网格编码与第 {seen[code]} 个要素重复")
                ok = False
            else:
                seen[code] = i
            if code[:6] not in district_codes:
                err(i, code, f"前 6 位 {code[:6]} 不是{profile.name}现行的区（县级市）代码")
                ok = False
            elif code[:9] not in street_codes:
                err(i, code, f"前 9 位 {code[:9]} 不是{divisions.division_name(code[:6], city_code)}的乡镇/街道代码")
                ok = False
            if code.endswith("000") or code[9:12] == "000":
                err(i, code, "社区码和网格码不能为 000")
                ok = False
        name = _prop(props, "name", "网格名称", "grid_name")
        if name is not None and (not isinstance(name, str) or len(name.strip()) > 120):
            err(i, code or None, "网格名称须为不超过 120 字的文字")
            ok = False
        cname = _prop(props, "community_name", "社区名称", "community")
        if cname is not None:
            if not isinstance(cname, str) or not cname.strip() or len(cname.strip()) > 80:
                err(i, code or None, "社区名称须为不超过 80 字的文字")
                ok = False
            elif code and CODE_RE.fullmatch(code):
                comm_names.setdefault(code[:12], {}).setdefault(cname.strip(), []).append(i)
        ckind = _prop(props, "community_kind", "社区类型")
        if ckind is not None:
            if ckind not in ("社区", "村"):
                err(i, code or None, "社区类型只能是“社区”或“村”")
                ok = False
            elif code and CODE_RE.fullmatch(code):
                comm_kinds[code[:12]] = ckind
        geom = _geometry(i, code or None, feat.get("geometry"), err)
        if geom is not None and ok:
            district = bounds[code[:6]]
            if not district.buffer(DISTRICT_TOLERANCE_DEG).contains(geom.representative_point()):
                pt = geom.representative_point()
                err(i, code, f"网格位置（{pt.x:.5f}, {pt.y:.5f}）不在编码所示的"
                             f"{divisions.division_name(code[:6], city_code)}范围内；"
                             "请检查编码，或坐标是否为 WGS84 经度、纬度（顺序勿颠倒）")
                ok = False
        if geom is not None and ok:
            good.append((i, code, name.strip() if isinstance(name, str) else None, geom))

    # communities: one name each
    communities: dict[str, CommunitySpec] = {}
    for ccode in sorted({c[:12] for _, c, _, _ in good}):
        names = comm_names.get(ccode, {})
        if len(names) > 1:
            desc = "；".join(f"“{n}”（第 {', '.join(map(str, idx[:5]))} 个要素）" for n, idx in names.items())
            first = min(min(idx) for idx in names.values())
            err(first, None, f"社区 {ccode} 的名称不一致：{desc}")
            continue
        if names:
            cname = next(iter(names))
        elif ccode in existing_communities:
            cname = existing_communities[ccode][0]
        else:
            first = min(i for i, c, _, _ in good if c[:12] == ccode)
            err(first, None, f"社区 {ccode} 没有名称：请至少在一个要素中填写 community_name（社区名称）")
            continue
        kind = comm_kinds.get(ccode) or (existing_communities.get(ccode, (None, None))[1] if not names else None) \
            or ("村" if cname.endswith("村") else "社区")
        communities[ccode] = CommunitySpec(code=ccode, name=cname, kind=kind, generated=False)

    # overlaps between grids (and with stored grids the import keeps)
    if good:
        keep_codes = {c for _, c, _, _ in good}
        others = [(c, shapely.from_geojson(g)) for c, g in (other_grids or []) if c not in keep_codes]
        labels = [(i, c) for i, c, _, _ in good] + [(None, c) for c, _ in others]
        geoms = np.asarray([g for *_, g in good] + [g for _, g in others], dtype=object)
        tree = shapely.STRtree(geoms)
        for a, b in zip(*_pairs(tree, geoms, len(good)), strict=True):
            inter = shapely.intersection(geoms[a], geoms[b])
            ov = _km2(inter) if not inter.is_empty else 0.0
            smaller = min(_km2(geoms[a]), _km2(geoms[b]))
            if ov > max(50e-6, 0.001 * smaller):
                ia, ca = labels[a]
                ib, cb = labels[b]
                other = f"第 {ib} 个要素（编码 {cb}）" if ib is not None else f"已有网格 {cb}"
                err(ia, ca, f"与{other}重叠约 {ov * 1e6:,.0f} 平方米；网格之间不得重叠")
            if len(errors) > MAX_ERRORS:
                break

    if errors:
        shown = errors[:MAX_ERRORS]
        more = f"（另有 {len(errors) - MAX_ERRORS} 处未列出）" if len(errors) > MAX_ERRORS else ""
        raise BadInput(f"GeoJSON 校验未通过，共 {len(errors)} 处问题，未写入任何数据。{shown[0]['message']}{more}",
                       code="invalid_grid_geojson", detail={"errors": shown, "total": len(errors)})

    grids = []
    for _i, code, name, geom in good:
        comm = communities[code[:12]]
        grids.append(GridSpec(code=code, name=name or f"{comm.name}第{int(code[12:])}网格", geometry=geom))
    return list(communities.values()), grids


def _pairs(tree: shapely.STRtree, geoms: np.ndarray, n_new: int) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (a < b) of intersecting geometries where ``a`` is a new feature."""
    left, right = tree.query(geoms, predicate="intersects")
    sel = (left < right) & (left < n_new)
    return left[sel], right[sel]


def _geometry(i: int, code: str | None, geo: Any, err) -> BaseGeometry | None:  # type: ignore[no-untyped-def]
    if not isinstance(geo, dict):
        err(i, code, "缺少几何（geometry）")
        return None
    if geo.get("type") not in ("Polygon", "MultiPolygon"):
        err(i, code, f"几何类型须为 Polygon 或 MultiPolygon，实际为 {geo.get('type')!r}")
        return None
    try:
        geom = shape(geo)
    except Exception:  # noqa: BLE001 - malformed coordinates of any kind
        err(i, code, "几何坐标格式错误（应为 [经度, 纬度] 数组构成的环）")
        return None
    if geom.is_empty:
        err(i, code, "几何为空")
        return None
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        err(i, code, "坐标中含有非数字值")
        return None
    if (np.abs(coords[:, 0]) > 180).any() or (np.abs(coords[:, 1]) > 90).any():
        err(i, code, "坐标超出经纬度范围（须为 WGS84 经度、纬度，单位为度）")
        return None
    if not geom.is_valid:
        err(i, code, "几何无效：" + _reason_cn(shapely.is_valid_reason(geom)))
        return None
    if geom.area <= 0:
        err(i, code, "多边形面积为零")
        return None
    return geom
