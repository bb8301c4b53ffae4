"""The same benchmarks on two commits, alternating, in one run (the machine is noisy: two runs an hour
apart differ more than most changes do).

    .venv/bin/python benchmarks/compare_commits.py BASELINE_REV [--rounds 3] [--only intake,ingest,export]
        [--out compare_commits.json]

BASELINE_REV is checked out as a git worktree beside this one (``git worktree add``, removed after),
sharing this checkout's virtualenv and node_modules. Each round runs every benchmark on both commits,
in ABBA order across rounds (baseline first in odd rounds, this tree first in even ones). Each run
writes its own tree's ``benchmarks/results/*.json``; the figure compared is read from there (this
tree's result files are put back afterwards: these short runs do not replace the full ones). Writes
``benchmarks/results/compare_commits.json`` with every run, the medians and the ratio this tree /
baseline (above 1 is faster for throughputs).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _intake(results: dict) -> float:
    rows = [r for r in results["results"] if r["backend"] == "postgres" and r.get("concurrency") == 64]
    return float(statistics.median(r["intake_rps_median"] for r in rows))


def _ingest(results: dict) -> float:
    return float(results["runs"]["utf-8"]["rows_per_second"])


def _export(results: dict) -> float:
    return float(results["service"]["median_rows_per_s"])


# name → (script, arguments, results file, figure, what the figure is)
BENCHES: dict[str, tuple[str, list[str], str, Callable[[dict], float], str]] = {
    "intake": ("bench_events_intake.py", ["--backends", "postgres", "--concurrency", "64", "--seconds", "20",
                                          "--repeat", "1"], "bench_events_intake.json", _intake,
               "orders/s, PostgreSQL, 64 clients"),
    "ingest": ("bench_ingest.py", ["--rows", "2000000", "--repeat", "1", "--validation", "", "--skip-copy"],
               "ingest.json", _ingest, "rows/s, UTF-8 CSV, 2M rows, ingest + full validation"),
    "export": ("bench_exchange_export.py", ["--rows", "1000000", "--repeat", "1"], "bench_exchange_export.json",
               _export, "rows/s, masked CSV export, 1M rows, service layer"),
}


def run_one(tree: Path, name: str) -> float:
    script, args, result_file, figure, _what = BENCHES[name]
    env = dict(os.environ, PYTHONPATH=str(tree / "src"))
    env.pop("CITYBASE_HOME", None)
    env.pop("CITYBASE_DATABASE_URL", None)
    subprocess.run([sys.executable, str(tree / "benchmarks" / script), *args], cwd=tree, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return figure(json.loads((tree / "benchmarks" / "results" / result_file).read_text(encoding="utf-8")))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("baseline")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default=",".join(BENCHES))
    ap.add_argument("--out", default="compare_commits.json", help="file name under benchmarks/results/")
    args = ap.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    base_rev = subprocess.check_output(["git", "rev-parse", args.baseline], cwd=ROOT, text=True).strip()
    head_rev = subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=ROOT, text=True).strip()
    other = Path(tempfile.mkdtemp(prefix="cb-baseline-")) / "tree"
    subprocess.run(["git", "worktree", "add", "--detach", str(other), base_rev], cwd=ROOT, check=True,
                   capture_output=True)
    results_dir = ROOT / "benchmarks" / "results"
    kept = {f: (results_dir / f).read_bytes() for _s, _a, f, _g, _w in BENCHES.values() if (results_dir / f).exists()}
    try:
        if (ROOT / "node_modules").exists():
            (other / "node_modules").symlink_to(ROOT / "node_modules")
        trees = {"baseline": other, "this": ROOT}
        runs: dict[str, dict[str, list[float]]] = {n: {"baseline": [], "this": []} for n in names}
        started = time.time()
        for i in range(args.rounds):
            order = ("baseline", "this") if i % 2 == 0 else ("this", "baseline")
            for name in names:
                for which in order:
                    value = run_one(trees[which], name)
                    runs[name][which].append(value)
                    print(f"round {i + 1} {name:7s} {which:8s} {value:12,.0f}", flush=True)
        summary = {}
        for name in names:
            b, t = statistics.median(runs[name]["baseline"]), statistics.median(runs[name]["this"])
            summary[name] = {"figure": BENCHES[name][4], "baseline_median": round(b), "this_median": round(t),
                             "ratio": round(t / b, 3), "runs": runs[name]}
            print(f"{name}: baseline {b:,.0f}, this {t:,.0f} → {t / b:.3f}×")
        out = ROOT / "benchmarks" / "results" / args.out
        out.write_text(json.dumps({"baseline": base_rev, "this": head_rev, "rounds": args.rounds,
                                   "order": "ABBA across rounds", "seconds": round(time.time() - started),
                                   "cpus": os.cpu_count(), "load_average_at_end": os.getloadavg(),
                                   "benchmarks": summary}, ensure_ascii=False, indent=2), encoding="utf-8")
        print(f"wrote {out}")
    finally:
        for name, content in kept.items():  # the short runs here do not replace the full benchmarks' figures
            (results_dir / name).write_bytes(content)
        subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT, capture_output=True)
        shutil.rmtree(other.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
