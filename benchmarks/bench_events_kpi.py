"""KPI queries over 1,000,000 work orders: 签收率, 按时办结率, 满意率, 结案率, 返工率 and average handling
time grouped by district, street, unit and type (the statistics page), plus the operator board.

Target (issue 5): each KPI query ≤ 500 ms over 1,000,000 orders. Baseline in the same run: a plain
``SELECT count(*)`` over the same table (the cost of one full pass).

    .venv/bin/python benchmarks/bench_events_kpi.py [--backends postgres,sqlite] [--orders 1000000]
Writes benchmarks/results/bench_events_kpi.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from benchmarks.bench_events_intake import prepare  # noqa: E402

STATUSES = ["closed", "archived", "in_progress", "dispatched", "callback", "rejected", "received", "verifying"]
P_STATUS = [0.35, 0.4, 0.08, 0.05, 0.03, 0.04, 0.03, 0.02]


def rows(n: int, seed: int = 1) -> dict[str, np.ndarray]:
    from citybase.reference import divisions

    rng = np.random.default_rng(seed)
    streets = [s.code for s in divisions.streets()]
    street = np.array(streets, dtype=object)[rng.integers(0, len(streets), n)]
    district = np.array([s[:6] for s in street], dtype=object)
    keys = np.array(["cgj", "slj", "zjj", "jtysj", "sthjj"], dtype=object)[rng.integers(0, 5, n)]
    unit = np.array([f"{d}-{k}" for d, k in zip(district, keys, strict=True)], dtype=object)
    types = np.array([f"SJ{m:02d}{k:02d}" for m in range(1, 8) for k in range(1, 10)], dtype=object)
    status = np.array(STATUSES, dtype=object)[rng.choice(len(STATUSES), n, p=P_STATUS)]
    now = datetime.now(UTC)
    return {"street": street, "district": district, "unit": unit, "type": types[rng.integers(0, len(types), n)],
            "status": status, "received_s": rng.uniform(0, 365 * 86400, n), "now": np.array([now]),
            "signed_ok": rng.random(n) < 0.95, "closed_ok": rng.random(n) < 0.85,
            "sat": np.array(["satisfied", "unsatisfied", "unreachable", None], dtype=object)[rng.choice(4, n, p=[0.8, 0.07, 0.05, 0.08])],
            "rework": (rng.random(n) < 0.08).astype(int), "secs": rng.integers(600, 5 * 86400, n)}


def load(n: int) -> float:
    from sqlalchemy import insert

    from citybase.db import get_engine
    from citybase.events.models import WorkOrder

    data = rows(n)
    now = data["now"][0]
    engine = get_engine()
    t0 = time.perf_counter()
    chunk = 50_000
    for start in range(0, n, chunk):
        batch = []
        for i in range(start, min(n, start + chunk)):
            st = data["status"][i]
            rec = now - timedelta(seconds=float(data["received_s"][i]))
            closed = st in ("closed", "archived")
            dispatched = st not in ("received", "rejected")
            batch.append({
                "number": f"B{i:012d}", "channel": "hotline", "status": st, "type_code": data["type"][i],
                "type_name": "", "kind": "事件", "description": "", "address": "", "street_code": data["street"][i],
                "district_code": data["district"][i], "reporter_name": "", "reporter_phone": "", "attributes": {},
                "main_unit": data["unit"][i] if dispatched else None, "assist_units": [], "sla": {}, "reply": "",
                "received_at": rec, "updated_at": rec, "dispatched_at": rec if dispatched else None,
                "signed_on_time": bool(data["signed_ok"][i]) if dispatched else None,
                "closed_at": rec + timedelta(days=2) if closed else None,
                "closed_on_time": bool(data["closed_ok"][i]) if closed else None,
                "feedback_at": rec + timedelta(days=1) if closed or st in ("callback", "verifying") else None,
                "satisfaction": data["sat"][i] if closed else None, "rework_count": int(data["rework"][i]),
                "handle_seconds": int(data["secs"][i]) if closed else None, "overdue": False, "return_count": 0,
                "reopen_count": 0, "callback_tries": 0, "urge_count": 0, "escalation_level": 0, "timer_round": 0,
                "created_by": "bench"})
        with engine.begin() as conn:
            conn.execute(insert(WorkOrder), batch)
        print(f"  loaded {min(n, start + chunk):,} orders", flush=True)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE ev_order")
        else:
            conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - t0


def timed(fn, repeat: int = 5) -> float:
    fn()  # warm
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(out), 1)


def bench_backend(name: str, n: int) -> dict:
    from sqlalchemy import text

    from citybase.core.identity.principal import SYSTEM
    from citybase.db import dispose_engines, make_session
    from citybase.events import service

    cluster, url = None, None
    if name == "postgres":
        from tests.pgcluster import PgCluster

        cluster = PgCluster().start()
        cluster.admin("CREATE DATABASE bench")
        url = cluster.url("bench")
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-kpi-{name}-"))
    try:
        prepare(tmp / "home", url, grids=False)
        load_s = load(n)
        res: dict = {"backend": name, "orders": n, "load_s": round(load_s, 1)}
        with make_session() as s:
            res["baseline_count_ms"] = timed(lambda: s.execute(text("SELECT count(*) FROM ev_order")).scalar())
            for by in ("district", "street", "unit", "type"):
                res[f"stats_by_{by}_ms"] = timed(lambda by=by: service.stats(s, SYSTEM, by))
            res["board_ms"] = timed(lambda: service.board(s, SYSTEM))
            res["counts_by_status_ms"] = timed(lambda: service.counts_by_status(s, SYSTEM))
        worst = max(v for k, v in res.items() if k.startswith("stats_by_"))
        res["worst_kpi_ms"] = worst
        res["ratio_worst_to_count"] = round(worst / max(res["baseline_count_ms"], 0.1), 2)
        res["meets_target"] = worst <= 500
        print(f"{name:9s} " + " ".join(f"{k}={v}" for k, v in res.items() if k.endswith("_ms")), flush=True)
        return res
    finally:
        dispose_engines()
        if cluster is not None:
            cluster.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backends", default="postgres,sqlite")
    ap.add_argument("--orders", type=int, default=1_000_000)
    args = ap.parse_args()
    results = [bench_backend(b.strip(), args.orders) for b in args.backends.split(",") if b.strip()]
    out = ROOT / "benchmarks" / "results" / "bench_events_kpi.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(out.read_text()).get("results", []) if out.exists() else []
    ran = {r["backend"] for r in results}
    merged = [r for r in previous if r.get("backend") not in ran] + results  # keep other backends' last run
    out.write_text(json.dumps({"benchmark": "events_kpi", "cores": os.cpu_count(), "results": merged},
                              ensure_ascii=False, indent=2, default=str))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
