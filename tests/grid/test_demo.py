"""The demo loader: grids, one grid worker per ~20 grids (gw_<street>_NN, password citybase2026), assigned."""

from __future__ import annotations

from sqlalchemy import select

from citybase.core.identity import service as identity
from citybase.db import make_session, session_scope
from citybase.grid import demo, service
from citybase.grid.models import Grid


def test_demo_creates_workers_and_assigns_every_grid_idempotently(city):
    counts = demo.seed_demo(district_codes=["320213"])
    with make_session() as s:
        codes = list(s.execute(select(Grid.code).order_by(Grid.code)).scalars())
        streets = sorted({c[:9] for c in codes})
        assert len(streets) == 9
        unassigned = [c for c in codes if not service.grid_workers(s, c)]
        assert unassigned == []
        workers = {u for c in codes for u in service.grid_workers(s, c)}
        assert all(u.startswith("gw_320213") for u in workers)
        assert "gw_320213021_01" in workers
        assert abs(len(workers) - len(codes) / demo.GRIDS_PER_WORKER) <= len(streets)  # ~1 per 20 grids
        assert counts["workers_created"] == len(workers)
        user = identity.get_user(s, "gw_320213021_01")
        assert user.role == "grid_worker" and user.org_code == "320213021"
        assert all(c.startswith("320213021") for c in service.worker_grids(s, "gw_320213021_01"))
    with session_scope() as s:
        assert identity.login(s, "gw_320213021_01", "citybase2026").ok
    again = demo.seed_demo(district_codes=["320213"])
    assert again == {"workers_created": 0, "assignments": 0}
