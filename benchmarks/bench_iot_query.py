"""Range query with hourly aggregation over one device-year of minute data (525,600 readings).

Target (issue 6): ≤ 100 ms. Baseline in the same run: the same hourly avg/min/max/count computed
directly from the raw readings with one SQL GROUP BY (what a store without roll-ups does).

    .venv/bin/python benchmarks/bench_iot_query.py [--backends postgres,sqlite] [--runs 20]
Writes benchmarks/results/bench_iot_query.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_iot_ingest import Backend  # noqa: E402

YEAR_MIN = 365 * 24 * 60


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backends", default="postgres,sqlite")
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()}", flush=True)
    results: dict = {"load_average_1_5_15_at_start": [round(x, 2) for x in os.getloadavg()], "target_ms": 100, "readings": YEAR_MIN}
    for kind in args.backends.split(","):
        be = Backend(kind)
        try:
            be.setup(1)
            from sqlalchemy import text

            from citybase.db import make_session, session_scope
            from citybase.iot import service
            from citybase.iot.service.storage import HOUR_MS, bulk_load, ensure_partitions

            with make_session() as s:
                dev = service.get_device(s, "BENCH-000000").id
            now = int(time.time() * 1000)
            end = now - now % HOUR_MS
            start = end - YEAR_MIN * 60_000
            rows = [(dev, "level", start + i * 60_000, round(0.6 + 0.3 * math.sin(i / 1440 * 2 * math.pi), 4), 0)
                    for i in range(YEAR_MIN)]
            t0 = time.perf_counter()
            with session_scope() as s:
                ensure_partitions(s, {start, end})
            with session_scope() as s:
                bulk_load(s, rows, minute=False)
            load_s = time.perf_counter() - t0
            print(f"[{kind}] loaded {len(rows):,} minute readings (+ roll-ups) in {load_s:.1f} s", flush=True)
            with make_session() as s:
                if kind == "postgres":
                    s.execute(text("ANALYZE"))
                ours, base = [], []
                for _ in range(args.runs):
                    t = time.perf_counter()
                    pts = service.series(s, dev, "level", start, end, "hour")
                    ours.append((time.perf_counter() - t) * 1000)
                    t = time.perf_counter()
                    raw = s.execute(text(
                        "SELECT ts / 3600000 AS h, avg(value), min(value), max(value), count(*) FROM iot_reading "
                        "WHERE device_id = :d AND quantity = 'level' AND ts >= :a AND ts < :b AND flag = 0 "
                        "GROUP BY ts / 3600000 ORDER BY 1"), {"d": dev, "a": start, "b": end}).all()
                    base.append((time.perf_counter() - t) * 1000)
                assert len(pts) == len(raw) == YEAR_MIN // 60, (len(pts), len(raw))
                assert abs(pts[100]["avg"] - raw[100][1]) < 1e-6
            med, bmed = statistics.median(ours), statistics.median(base)
            results[kind] = {"hourly_points": len(pts), "median_ms": round(med, 2), "p95_ms": round(sorted(ours)[int(
                0.95 * (len(ours) - 1))], 2), "raw_group_by_median_ms": round(bmed, 2), "speedup": round(bmed / med, 1),
                "load_seconds": round(load_s, 1)}
            print(f"[{kind}] hourly aggregation over one device-year: median {med:.1f} ms "
                  f"(raw GROUP BY {bmed:.1f} ms, ×{bmed / med:.1f})", flush=True)
        finally:
            be.stop()
    results["load_average_1_5_15_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["cpus"] = os.cpu_count()
    out = ROOT / "benchmarks" / "results" / "bench_iot_query.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
