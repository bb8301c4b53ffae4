"""datastore_search on a 10,000,000-row resource: equality filter on any column, include_total.

Target (issue 4): p50 ≤ 25 ms and p99 ≤ 100 ms on 2 cores. Baseline in the same run: the same queries on
a PostgreSQL table holding the same rows without per-column indexes — how CKAN's DataStore holds a
resource after XLoader (one table, ``_id`` primary key, no other index) — in a throwaway cluster
(tests/pgcluster.py). Reports medians, p99 and the ratio (target ≥ 20×).

Our side is the real query path: ``opendata.service.datastore`` builds the public store (DuckDB file,
ART index per column) from a Parquet version and ``datastore.search`` answers CKAN's parameters.

    .venv/bin/python benchmarks/bench_opendata_datastore.py [--rows 10000000] [--queries 300] [--pg-queries 40]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

COLUMNS = [  # name, catalogue type, DuckDB expression over i, PostgreSQL type
    ("record_no", "string", "'R' || lpad(CAST(i AS VARCHAR), 8, '0')", "text"),
    ("station", "string", "'WX-' || CAST(hash(i) % 5000 AS VARCHAR)", "text"),
    ("district", "string", "CAST(320200 + (hash(i * 7) % 12) AS VARCHAR)", "text"),
    ("category", "string", "'类别' || CAST(hash(i * 13) % 80 AS VARCHAR)", "text"),
    ("day", "date", "DATE '2016-01-01' + CAST(hash(i * 3) % 3650 AS INTEGER)", "date"),
    ("amount", "integer", "CAST(hash(i * 11) % 200000 AS BIGINT)", "bigint"),
    ("ph", "decimal", "round(6 + (hash(i * 17) % 3000) / 1000.0, 3)", "numeric"),
]


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--pg-queries", type=int, default=40)
    ap.add_argument("--no-pg", action="store_true")
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="cb-bench-datastore-"))
    os.environ["CITYBASE_HOME"] = str(home)
    import duckdb

    from citybase.opendata.service import datastore

    work = home / "src"
    work.mkdir()
    parquet = work / "part-0.parquet"
    t0 = time.perf_counter()
    con = duckdb.connect()
    exprs = ", ".join(f"{expr} AS {name}" for name, _t, expr, _p in COLUMNS)
    con.execute(f"COPY (SELECT {exprs} FROM range({args.rows}) r(i)) TO '{parquet}' (FORMAT PARQUET)")
    gen_s = time.perf_counter() - t0
    print(f"生成 {args.rows:,} 行 Parquet：{gen_s:.1f} s", file=sys.stderr)
    fields = [SimpleNamespace(name=n, label=n, data_type=t, grading="L1", element="text", position=i)
              for i, (n, t, _e, _p) in enumerate(COLUMNS)]
    res = SimpleNamespace(code="bench-0001", fields=fields)
    cols = [datastore.Column(n, n, t, False) for n, t, _e, _p in COLUMNS]
    path = home / "store.duckdb"
    t1 = time.perf_counter()
    datastore._build(res, str(parquet), cols, path, indexes=True)  # type: ignore[arg-type]
    build_s = time.perf_counter() - t1
    print(f"建立公共数据存储（含每列索引）：{build_s:.1f} s", file=sys.stderr)
    store = datastore.open_store("bench-0001", 1, path, cols)
    store_con, rows = store.con, store.rows
    rng = random.Random(4)
    sample = store_con.execute(f"SELECT * FROM t USING SAMPLE {max(args.queries, args.pg_queries) * 2} ROWS").fetchall()
    queries = []
    for k in range(max(args.queries, args.pg_queries)):
        row = sample[k % len(sample)]
        ci = k % len(COLUMNS)
        value = row[ci + 1]
        queries.append((COLUMNS[ci][0], value.isoformat() if hasattr(value, "isoformat") else value))
    rng.shuffle(queries)

    def ours(q: tuple[str, object]) -> tuple[float, int]:
        t = time.perf_counter()
        r = datastore.search(store, filters={q[0]: q[1]}, limit=100, include_total=True)
        return (time.perf_counter() - t) * 1000, r["total"]

    for q in queries[:20]:
        ours(q)
    timed = [ours(q) for q in queries[: args.queries]]
    ours_ms = [t for t, _n in timed]
    per_col: dict[str, list[float]] = {}
    for q, (t, _n) in zip(queries, timed, strict=False):
        per_col.setdefault(q[0], []).append(t)
    out: dict[str, object] = {
        "rows": rows, "queries": len(ours_ms), "parquet_gen_s": round(gen_s, 1), "store_build_s": round(build_s, 1),
        "store_bytes": path.stat().st_size, "p50_ms": round(statistics.median(ours_ms), 2),
        "p90_ms": round(_pct(ours_ms, 90), 2), "p99_ms": round(_pct(ours_ms, 99), 2),
        "p50_ms_by_column": {c: round(statistics.median(v), 2) for c, v in per_col.items()},
        "mean_total": round(statistics.mean(n for _t, n in timed), 1), "target_p50_ms": 25, "target_p99_ms": 100,
        "cpus": os.cpu_count()}
    print(f"citybase datastore_search: p50 {out['p50_ms']} ms, p99 {out['p99_ms']} ms", file=sys.stderr)
    if not args.no_pg:
        import psycopg
        from tests.pgcluster import PgCluster

        pg = PgCluster().start()
        try:
            pg.admin("CREATE DATABASE ckan_datastore")
            dsn = pg.url("ckan_datastore").replace("postgresql+psycopg", "postgresql")
            csv_path = work / "rows.csv"
            con.execute(f"COPY (SELECT row_number() OVER () AS _id, * FROM read_parquet('{parquet}')) TO '{csv_path}' (HEADER false)")
            os.chmod(work, 0o755)
            os.chmod(csv_path, 0o644)
            t2 = time.perf_counter()
            with psycopg.connect(dsn, autocommit=True) as pc:
                ddl = ", ".join(f'"{n}" {p}' for n, _t, _e, p in COLUMNS)
                pc.execute(f'CREATE TABLE t ("_id" serial PRIMARY KEY, {ddl}, "_full_text" tsvector)')
                with pc.cursor().copy(f"COPY t (_id, {', '.join(n for n, *_ in COLUMNS)}) FROM STDIN (FORMAT csv)") as cp, \
                        open(csv_path, "rb") as fh:
                    while chunk := fh.read(1 << 20):
                        cp.write(chunk)
                pc.execute("ANALYZE t")
            load_s = time.perf_counter() - t2
            print(f"PostgreSQL 装载（XLoader 方式，无列索引）：{load_s:.1f} s", file=sys.stderr)
            pg_ms = []
            with psycopg.connect(dsn, autocommit=True) as pc:
                for name, value in queries[: args.pg_queries]:
                    t = time.perf_counter()
                    pc.execute(f'SELECT * FROM t WHERE "{name}" = %s ORDER BY _id LIMIT 100', (value,)).fetchall()
                    pc.execute(f'SELECT count(*) FROM t WHERE "{name}" = %s', (value,)).fetchone()
                    pg_ms.append((time.perf_counter() - t) * 1000)
            ours_same = [t for t, _n in timed[: args.pg_queries]]
            out.update({"pg_load_s": round(load_s, 1), "pg_queries": len(pg_ms),
                        "pg_p50_ms": round(statistics.median(pg_ms), 2), "pg_p99_ms": round(_pct(pg_ms, 99), 2),
                        "ratio_p50": round(statistics.median(pg_ms) / statistics.median(ours_same), 1),
                        "ratio_pg_p50_vs_our_overall_p50": round(statistics.median(pg_ms) / statistics.median(ours_ms), 1),
                        "target_ratio": 20})
            print(f"PostgreSQL (CKAN DataStore) p50 {out['pg_p50_ms']} ms → ratio {out['ratio_p50']}×", file=sys.stderr)
        finally:
            pg.stop()
    (ROOT / "benchmarks" / "results").mkdir(exist_ok=True)
    (ROOT / "benchmarks" / "results" / "bench_opendata_datastore.json").write_text(json.dumps(out, ensure_ascii=False, indent=2))
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
