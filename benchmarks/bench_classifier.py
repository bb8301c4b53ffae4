"""Benchmark: the intake classifier (citybase.events.classifier).

Measures, in one run:

* cold start — jieba initialisation, training on the shipped set (median of ``--train-runs``
  fits; wall and CPU seconds) and loading the cached model from CITYBASE_HOME/tmp;
* per-text latency of ``classify(text, top=3)`` over the 1,022 held-out texts, repeated
  ``--rounds`` times: p50/p99/max, against the 2 ms budget of the intake hot path;
* single-thread throughput (texts/s) against the issue's 1,000 orders/s intake target;
* the baseline: the same fitted model scored through scikit-learn per text
  (``TfidfVectorizer.transform`` + ``decision_function``), the obvious way to write it;
* held-out accuracy, macro-F1, top-3 accuracy (``classifier.evaluate()``), for the README.

Writes benchmarks/results/classifier.json.

    .venv/bin/python benchmarks/bench_classifier.py [--rounds 5] [--train-runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "classifier.json"
BUDGET_MS = 2.0
TARGET_PER_S = 1000.0


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5, help="passes over the held-out texts")
    ap.add_argument("--train-runs", type=int, default=3, help="training runs (median reported)")
    args = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="citybase-bench-classifier-"))
    os.environ["CITYBASE_HOME"] = str(home)
    from citybase.events import classifier

    t0 = time.perf_counter()
    classifier._jieba()
    jieba_s = time.perf_counter() - t0

    rows = classifier._read_training()
    train = [r for r in rows if r["split"] == "train"]
    test = [r["text"] for r in rows if r["split"] == "test"]
    texts, labels, groups = [r["text"] for r in train], [r["type"] for r in train], [r["core"] for r in train]

    walls, cpus = [], []
    for _ in range(args.train_runs):
        w, c = time.perf_counter(), time.process_time()
        classifier._fit(texts, labels, groups)
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    print(f"training on {len(texts)} texts: median {statistics.median(walls):.2f} s wall, "
          f"{statistics.median(cpus):.2f} s CPU (runs: {', '.join(f'{x:.2f}' for x in walls)})")

    classifier._reset_for_tests()
    classifier.warm_up()  # trains once more and writes the cache
    classifier._reset_for_tests()
    t0 = time.perf_counter()
    classifier.warm_up()
    cache_s = time.perf_counter() - t0
    assert classifier._get_model().source == "cache"
    print(f"jieba initialisation {jieba_s:.2f} s; loading the cached model {cache_s * 1000:.0f} ms")

    # latency, fast scorer
    for text in test[:50]:
        classifier.classify(text)
    lat_ms: list[float] = []
    cpu_ms: list[float] = []
    t_all, c_all = time.perf_counter(), time.thread_time()
    for _ in range(args.rounds):
        for text in test:
            t, c = time.perf_counter_ns(), time.thread_time_ns()
            classifier.classify(text, top=3)
            cpu_ms.append((time.thread_time_ns() - c) / 1e6)
            lat_ms.append((time.perf_counter_ns() - t) / 1e6)
    total_s = time.perf_counter() - t_all
    per_s = len(lat_ms) / total_s
    per_cpu_s = len(lat_ms) / (time.thread_time() - c_all)
    p50, p99, pmax = statistics.median(lat_ms), _pct(lat_ms, 99), max(lat_ms)
    c50, c99 = statistics.median(cpu_ms), _pct(cpu_ms, 99)
    print(f"classify (NumPy scorer), wall: p50 {p50:.3f} ms  p99 {p99:.3f} ms  max {pmax:.2f} ms; "
          f"CPU: p50 {c50:.3f} ms  p99 {c99:.3f} ms (budget {BUDGET_MS} ms: p99 CPU is {c99 / BUDGET_MS:.0%} of it)")
    print(f"throughput on one thread: {per_s:,.0f} texts/s wall, {per_cpu_s:,.0f} texts per CPU-second "
          f"({per_s / TARGET_PER_S:.1f}× / {per_cpu_s / TARGET_PER_S:.1f}× the 1,000/s intake target)")

    # baseline: scikit-learn per text, same features and model family
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    vec = TfidfVectorizer(analyzer=classifier._features, sublinear_tf=True, min_df=2)
    svm = LinearSVC(C=classifier.C_REGULARISATION, random_state=0).fit(vec.fit_transform(texts), labels)
    base_ms: list[float] = []
    sample = test[: min(len(test), 500)]
    for text in sample:
        t = time.perf_counter_ns()
        d = svm.decision_function(vec.transform([text]))[0]
        np.argsort(-d)[:3]
        base_ms.append((time.perf_counter_ns() - t) / 1e6)
    b50, b99 = statistics.median(base_ms), _pct(base_ms, 99)
    print(f"baseline (scikit-learn transform + decision_function per text): p50 {b50:.3f} ms  p99 {b99:.3f} ms "
          f"→ the NumPy scorer is {b50 / p50:.1f}× faster at p50")

    ev = classifier.evaluate()
    print(f"held-out ({ev['n_test']} texts, {ev['n_classes']} types, {ev['n_train']} training texts): "
          f"accuracy {ev['accuracy']:.3f}, macro-F1 {ev['macro_f1']:.3f}, top-3 {ev['top3_accuracy']:.3f}; "
          f"top probability ≥ {ev['confident_threshold']}: {ev['confident_coverage']:.0%} of texts, "
          f"accuracy {ev['confident_accuracy']:.3f}")

    out = {
        "benchmark": "classifier",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "load_average_at_end": list(os.getloadavg()),
        "training": {"texts": len(texts), "median_wall_s": statistics.median(walls),
                     "median_cpu_s": statistics.median(cpus), "runs_wall_s": walls, "budget_s": 10.0},
        "jieba_init_s": jieba_s,
        "cache_load_s": cache_s,
        "classify": {"texts": len(lat_ms), "p50_ms": p50, "p99_ms": p99, "max_ms": pmax,
                     "cpu_p50_ms": c50, "cpu_p99_ms": c99,
                     "per_s_one_thread": per_s, "per_cpu_s": per_cpu_s, "budget_ms": BUDGET_MS,
                     "ratio_p99_cpu_over_budget": c99 / BUDGET_MS, "ratio_vs_1000_per_s": per_s / TARGET_PER_S},
        "baseline_sklearn_per_text": {"texts": len(base_ms), "p50_ms": b50, "p99_ms": b99,
                                      "speedup_p50": b50 / p50},
        "held_out": {k: v for k, v in ev.items() if k != "mean_classify_ms"},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
