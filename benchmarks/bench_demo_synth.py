"""Synthetic persons for the demo and the benchmarks: 100,000 in under 10 s (the target the test suite
used to time; speed belongs here, not in a test that fails when the machine is busy).

Median of 3 runs after a warm-up (the reference caches); JSON in benchmarks/results/demo_synth.json.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
RESULTS = ROOT / "benchmarks" / "results"
N = 100_000
TARGET_SECONDS = 10.0


def main() -> None:
    from citybase.demo.synth import persons

    persons(10, seed=0)
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        rows = persons(N, seed=11)
        runs.append(time.perf_counter() - t0)
        assert len(rows) == N
    med = statistics.median(runs)
    out = {"benchmark": "demo_synth", "persons": N, "seconds": [round(r, 3) for r in runs],
           "median_seconds": round(med, 3), "target_seconds": TARGET_SECONDS, "met": med < TARGET_SECONDS,
           "cpus": os.cpu_count(), "load_average": os.getloadavg()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "demo_synth.json").write_text(json.dumps(out, indent=2), encoding="utf-8")
    print(f"{N:,} persons: median {med:.2f} s (target < {TARGET_SECONDS:.0f} s)")


if __name__ == "__main__":
    main()
