"""Demo grids over the real Wuxi districts, and grid workers (about one per 20 grids)."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from citybase.core.errors import NotFound
from citybase.core.identity import service as identity
from citybase.core.identity.principal import SYSTEM
from citybase.core.identity.roles import Role
from citybase.db import make_session, session_scope
from citybase.grid import service
from citybase.grid.models import Grid

DEMO_PASSWORD = "citybase2026"
GRIDS_PER_WORKER = 20
DEMO_WORKER = "grid_worker"  # the demo account of tests/conftest (first street); gets a few grids too


ADDRESS_RESOURCE = "103002-0001"  # 市自然资源和规划局 标准地名地址 (catalog demo)
ROADS = ["中山路", "人民路", "解放路", "学前街", "梁溪路", "太湖大道", "金城路", "清扬路", "锡沪路", "新华路",
         "团结路", "建设路", "和平路", "春江路", "长江路", "湖滨路"]


def load(console: Any = None) -> None:
    seed_demo(console=console)
    standard_addresses(console=console)


def standard_addresses(console: Any = None, per_grid: int = 2, seed: int = 2026) -> int:
    """Demo 标准地名地址: a few door-plate addresses inside every demo grid, loaded into the lake as
    the catalogue's standard-address resource, then the 自然资源和空间地理基础库 rebuilt, so that a
    hotline address finds its grid. Idempotent: skipped when the resource already has data."""
    import random

    import pyarrow as pa
    from shapely.geometry import shape

    from citybase.baselib import service as baselib
    from citybase.catalog import service as catalog
    from citybase.lake import service as lake

    with make_session() as s:
        if catalog.find_resource(s, ADDRESS_RESOURCE) is None or lake.current_version(s, ADDRESS_RESOURCE):
            return 0
        rows = s.execute(select(Grid.code, Grid.street_code, Grid.district_code, Grid.geometry)
                         .order_by(Grid.code)).all()
    if not rows:
        return 0
    rng = random.Random(seed)
    streets, dists = service.street_names(), service.district_names()
    cols: dict[str, list[Any]] = {k: [] for k in ("dzbm", "bzdz", "jlx", "mph", "jd", "wd", "jdbm", "yzbm")}
    used: set[str] = set()
    for code, street, district, geometry in rows:
        poly = shape(json.loads(geometry))
        for k in range(per_grid):
            road, number = rng.choice(ROADS), rng.randint(1, 999)
            text = f"无锡市{dists.get(district, '')}{streets.get(street, '')}{road}{number}号"
            if text in used:
                continue
            used.add(text)
            p = poly.representative_point() if k == 0 else _point_inside(poly, rng)
            cols["dzbm"].append(f"{code}{k + 1:02d}")
            cols["bzdz"].append(text)
            cols["jlx"].append(road)
            cols["mph"].append(f"{number}号")
            cols["jd"].append(round(p.x, 6))
            cols["wd"].append(round(p.y, 6))
            cols["jdbm"].append(street)
            cols["yzbm"].append("214000")
    with session_scope() as s:
        v = lake.ingest_table(s, SYSTEM, ADDRESS_RESOURCE, pa.table(cols), source_label="演示标准地址")
        baselib.rebuild_stale(s)
    if console is not None:
        console.print(f"  标准地址：{v.row_count} 条门牌地址（网格内），已重建自然资源和空间地理基础库")
    return v.row_count


def _point_inside(poly: Any, rng: Any) -> Any:
    from shapely.geometry import Point

    minx, miny, maxx, maxy = poly.bounds
    for _ in range(50):
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if poly.contains(p):
            return p
    return poly.representative_point()


def seed_demo(console: Any = None, district_codes: Sequence[str] | None = None) -> dict[str, int]:
    """Idempotent: generate grids if there are none, then create and assign missing grid workers."""
    with make_session() as s:
        have = service.layer_summary(s)["grids"]
    if have == 0:
        with session_scope() as s:
            result = service.generate(s, SYSTEM, seed=2026, district_codes=district_codes)
        if console is not None:
            console.print(f"  网格：已生成 {result.grids} 个网格、{result.communities} 个社区/村")
    with make_session() as s:
        rows = s.execute(select(Grid.code, Grid.street_code).order_by(Grid.code)).all()
        assigned = set(_assigned_codes(s))
    by_street: dict[str, list[str]] = {}
    for code, street in rows:
        by_street.setdefault(street, []).append(code)
    created = assigned_now = 0
    bar = None
    if console is not None:
        from citybase.console import progress

        bar = progress()
        bar.start()
        task = bar.add_task("  网格员账号与分配", total=len(by_street))
    try:
        for street, codes in by_street.items():
            c, a = _seed_street(street, codes, assigned)
            created, assigned_now = created + c, assigned_now + a
            if bar is not None:
                bar.advance(task)
    finally:
        if bar is not None:
            bar.stop()
    # the shared demo grid worker account covers the first grids of its own street
    with session_scope() as s:
        try:
            user = identity.get_user(s, DEMO_WORKER)
        except NotFound:
            user = None
        if user is not None and user.role == Role.GRID_WORKER.value and not service.worker_grids(s, DEMO_WORKER):
            for code in by_street.get(user.org_code, [])[:5]:
                service.assign_worker(s, SYSTEM, code, DEMO_WORKER)
                assigned_now += 1
    if console is not None and (created or assigned_now):
        console.print(f"  网格员：新建 {created} 个账号（密码 {DEMO_PASSWORD}），新增分配 {assigned_now} 条")
    return {"workers_created": created, "assignments": assigned_now}


@functools.cache
def _demo_hash() -> str:
    """The demo accounts share a published password: hash it once, not once per account."""
    return identity.hash_password(DEMO_PASSWORD)


def _seed_street(street: str, codes: list[str], assigned: set[str]) -> tuple[int, int]:
    """Create the street's grid workers (gw_<street>_NN) and give each a run of ~20 grids."""
    created = assigned_now = 0
    with session_scope() as s:
        try:
            org_name = identity.get_org(s, street).name
        except NotFound:  # a street without an organisation gets no demo workers
            return 0, 0
        n_workers = max(1, round(len(codes) / GRIDS_PER_WORKER))
        per = math.ceil(len(codes) / n_workers)
        for k in range(n_workers):
            username = f"gw_{street}_{k + 1:02d}"
            try:
                identity.get_user(s, username)
            except NotFound:
                identity.create_user(s, SYSTEM, username=username, org_code=street, role=Role.GRID_WORKER.value,
                                     password=None, password_hash=_demo_hash(),
                                     display_name=f"{org_name}网格员{k + 1:02d}")
                created += 1
            for code in codes[k * per:(k + 1) * per]:
                if code not in assigned:
                    service.assign_worker(s, SYSTEM, code, username)
                    assigned_now += 1
    return created, assigned_now


def _assigned_codes(s) -> list[str]:  # type: ignore[no-untyped-def]
    from citybase.grid.models import GridAssignment

    return list(s.execute(select(GridAssignment.grid_code).distinct()).scalars())
