"""Benchmark: identity-number validation in DuckDB SQL (cb_id_valid) vs pure Python.

Generates N identity numbers (default 10,000,000; about 90 % valid) with numpy, loads them into
an in-memory DuckDB table, times ``SELECT count(*) FILTER (WHERE cb_id_valid(x))`` (median of 5
runs after one warm-up) and ``is_valid_id`` on a 200,000-row sample, prints numbers/s for both
and their ratio, and writes the figures to benchmarks/results/idcard_sql.json.

    python benchmarks/bench_idcard_sql.py [--rows N] [--runs 5] [--sample 200000] [--threads T]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from citybase.standards.division import all_division_codes
from citybase.standards.idcard import ID_WEIGHTS, is_valid_id
from citybase.standards.sql import register_macros

RESULTS = Path(__file__).resolve().parent / "results" / "idcard_sql.json"
CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) ASCII digit matrix of non-negative integers, zero-padded."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] // powers) % 10 + 48).astype(np.uint8)


def generate(rows: int, seed: int = 20240601) -> pa.Array:
    """About 90 % valid numbers plus wrong check characters, bad dates, unknown addresses,
    lower-case x, 15-digit numbers, blanks, garbage and NULLs."""
    rng = np.random.default_rng(seed)
    codes = np.array(sorted(int(c) for c in all_division_codes() if not c.endswith("00")), dtype=np.int64)
    addr = codes[rng.integers(0, len(codes), rows)]
    epoch = np.datetime64("1930-01-01")
    days = rng.integers(0, (np.datetime64("2020-12-31") - epoch).astype(int), rows)
    births = (epoch + days).astype("datetime64[D]")
    y = births.astype("datetime64[Y]").astype(np.int64) + 1970
    m = births.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (births - births.astype("datetime64[M]")).astype(np.int64) + 1
    birth_num = y * 10000 + m * 100 + d
    kind = rng.random(rows)
    # 1.5 %: impossible dates (month 13 or day 32), still with a correct check character.
    bad_date = kind < 0.015
    birth_num[bad_date] = y[bad_date] * 10000 + np.where(rng.random(bad_date.sum()) < 0.5, 1301, 132)
    # 1.5 %: address codes that never existed.
    bad_addr = (kind >= 0.015) & (kind < 0.03)
    addr[bad_addr] = 990000 + rng.integers(0, 9999, bad_addr.sum())
    seq = rng.integers(0, 1000, rows)
    body = np.concatenate([_digits(addr, 6), _digits(birth_num, 8), _digits(seq, 3)], axis=1)
    total = ((body.astype(np.int64) - 48) * np.array(ID_WEIGHTS, dtype=np.int64)).sum(axis=1)
    check = CHECK[total % 11]
    # 4 %: wrong check character.
    wrong = (kind >= 0.03) & (kind < 0.07)
    shift = rng.integers(1, 11, wrong.sum())
    check[wrong] = CHECK[(total[wrong] + shift) % 11]
    # 1 %: lower-case x where the check character is X (still valid).
    lower = (kind >= 0.07) & (kind < 0.08) & (check == ord("X"))
    check[lower] = ord("x")
    full = np.concatenate([body, check[:, None]], axis=1)
    main = pa.array(np.ascontiguousarray(full).view("S18").ravel(), type=pa.binary(18)).cast(pa.string())
    # 2 %: assorted odd rows built in Python (15-digit, blanks, garbage, empty, NULL).
    special_idx = np.nonzero((kind >= 0.08) & (kind < 0.10))[0]
    prng = random.Random(seed)
    specials: list[str | None] = []
    for i in special_idx:
        s = full[i].tobytes().decode()
        r = prng.random()
        if r < 0.35:
            specials.append(s[:6] + s[8:17])  # 15-digit legacy number of a valid 18-digit one
        elif r < 0.55:
            specials.append(f"{s[:6]} {s[6:14]} {s[14:]}")  # spaces
        elif r < 0.8:
            n = prng.randint(1, 25)
            specials.append("".join(prng.choice("0123456789XxAB- ") for _ in range(n)))
        elif r < 0.9:
            specials.append("")
        else:
            specials.append(None)
    mask = np.zeros(rows, dtype=bool)
    mask[special_idx] = True
    keep = pa.array(np.nonzero(~mask)[0])
    merged = pa.concat_arrays([main.take(keep), pa.array(specials, type=pa.string())])
    perm = pa.array(np.random.default_rng(seed + 1).permutation(rows))
    return merged.take(perm)


def _time(con: duckdb.DuckDBPyConnection, sql: str, runs: int) -> dict:
    """Median / min wall seconds of ``runs`` executions after one warm-up, plus process CPU seconds."""
    con.execute(sql).fetchall()  # warm-up
    walls, cpus, result = [], [], 0
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        result = con.execute(sql).fetchall()[0][0]
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return {"median": statistics.median(walls), "min": min(walls), "cpu": statistics.median(cpus), "result": result}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sample", type=int, default=200_000)
    ap.add_argument("--threads", type=int, default=0, help="DuckDB threads (0 = DuckDB default)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()

    t0 = time.perf_counter()
    data = generate(args.rows)
    gen_s = time.perf_counter() - t0

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    threads = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
    con.register("id_arrow", pa.table({"x": data}))
    con.execute("CREATE TABLE ids AS SELECT x FROM id_arrow")
    con.unregister("id_arrow")
    register_macros(con)

    load_before = os.getloadavg()
    main_sql = "SELECT count(*) FILTER (WHERE cb_id_valid(x)) FROM ids"
    main = _time(con, main_sql, args.runs)
    sql_s, sql_valid = main["median"], main["result"]
    count_if = _time(con, "SELECT count_if(cb_id_valid(x)) FROM ids", 1)
    # selecting rows: compute the flag in a MATERIALIZED CTE (a plain WHERE is much slower,
    # DuckDB does not eliminate common subexpressions there) -- one run each
    cte = _time(
        con,
        "WITH v AS MATERIALIZED (SELECT cb_id_valid(x) AS ok FROM ids) SELECT count(*) FROM v WHERE NOT ok",
        1,
    )
    where_rows = min(args.rows, 1_000_000)
    where = _time(con, f"SELECT count(*) FROM (SELECT x FROM ids LIMIT {where_rows}) WHERE cb_id_valid(x)", 1)
    reason = _time(con, "SELECT count(DISTINCT cb_id_reason(x)) FROM ids", 1)
    load_after = os.getloadavg()

    n_sample = min(args.sample, args.rows)
    sample = data.slice(0, n_sample).to_pylist()
    t0 = time.perf_counter()
    py_valid = sum(1 for v in sample if is_valid_id(v))
    py_s = time.perf_counter() - t0
    con.register("sample_arrow", pa.table({"x": data.slice(0, n_sample)}))
    sql_sample_valid = con.execute(
        "SELECT count(*) FILTER (WHERE cb_id_valid(x)) FROM sample_arrow"
    ).fetchall()[0][0]

    sql_rate = args.rows / sql_s
    py_rate = n_sample / py_s
    result = {
        "benchmark": "idcard_sql",
        "date": date.today().isoformat(),
        "rows": args.rows,
        "valid_rows": sql_valid,
        "valid_share": round(sql_valid / args.rows, 4),
        "duckdb_version": duckdb.__version__,
        "duckdb_threads": threads,
        "cpu_count": os.cpu_count(),
        "load_average_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        "python": platform.python_version(),
        "generate_seconds": round(gen_s, 2),
        "sql_query": main_sql,
        "sql_runs": args.runs,
        "sql_median_seconds": round(sql_s, 4),
        "sql_min_seconds": round(main["min"], 4),
        "sql_cpu_seconds_median": round(main["cpu"], 4),
        "sql_numbers_per_second": round(sql_rate),
        "sql_numbers_per_second_best_run": round(args.rows / main["min"]),
        # what the query would reach with all DuckDB threads to itself (other load on a shared
        # machine lengthens wall time, not CPU time)
        "sql_numbers_per_second_cpu_normalised": round(args.rows / (main["cpu"] / int(threads))),
        "sql_count_if_numbers_per_second": round(args.rows / count_if["median"]),
        "sql_materialized_cte_filter_numbers_per_second": round(args.rows / cte["median"]),
        "sql_plain_where_numbers_per_second": round(where_rows / where["median"]),
        "sql_plain_where_rows": where_rows,
        "sql_reason_numbers_per_second": round(args.rows / reason["median"]),
        "python_sample_rows": n_sample,
        "python_seconds": round(py_s, 4),
        "python_numbers_per_second": round(py_rate),
        "python_sample_valid": py_valid,
        "sql_sample_valid": sql_sample_valid,
        "sample_agrees": py_valid == sql_sample_valid,
        "speedup_sql_over_python": round(sql_rate / py_rate, 1),
        "target_numbers_per_second": 5_000_000,
        "meets_target": sql_rate >= 5_000_000,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"rows: {args.rows:,} ({sql_valid / args.rows:.1%} valid), DuckDB {duckdb.__version__}, "
          f"threads={threads}, load {load_before[0]:.1f} -> {load_after[0]:.1f}")
    print(f"SQL cb_id_valid, count(*) FILTER: {sql_rate:>14,.0f} numbers/s  (median of {args.runs}: {sql_s:.3f} s, "
          f"best {main['min']:.3f} s, CPU {main['cpu']:.2f} s)")
    print(f"  ... CPU-normalised ({threads} threads): {args.rows / (main['cpu'] / int(threads)):>11,.0f} numbers/s")
    print(f"SQL cb_id_valid, count_if:        {args.rows / count_if['median']:>14,.0f} numbers/s")
    print(f"SQL cb_id_valid, MATERIALIZED CTE: {args.rows / cte['median']:>13,.0f} numbers/s")
    print(f"SQL cb_id_valid, plain WHERE:     {where_rows / where['median']:>14,.0f} numbers/s  ({where_rows:,} rows)")
    print(f"SQL cb_id_reason:                 {args.rows / reason['median']:>14,.0f} numbers/s")
    print(f"Python is_valid_id:               {py_rate:>14,.0f} numbers/s  ({n_sample:,} sample, {py_s:.2f} s)")
    print(f"ratio SQL / Python:               {sql_rate / py_rate:>14,.1f}x")
    print(f"sample agreement (Python {py_valid} vs SQL {sql_sample_valid}): {py_valid == sql_sample_valid}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
