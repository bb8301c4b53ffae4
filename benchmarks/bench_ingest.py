"""Ingest + full validation of a 12-column CSV (ID number, credit code, mobile, dates, division code,
amounts, Chinese text) in UTF-8 and GBK, against PostgreSQL COPY of the same file (what CKAN's
XLoader does, without validation) into a throwaway cluster; plus validation time at 1M/5M/10M rows.

    .venv/bin/python benchmarks/bench_ingest.py [--rows 5000000] [--repeat 3] [--validation 1000000,5000000,10000000]

Each measured ingest runs in a fresh subprocess so its peak RSS (VmHWM) is its own.
Writes benchmarks/results/ingest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

ID_W = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_C = np.array(list("10X98765432"))
USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_W = np.array([pow(3, i, 31) for i in range(17)])
DIVS = np.array(["320205", "320206", "320211", "320213", "320214", "320281", "320282"])
SURN = np.array(list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"))
GIVEN = np.array(list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"))
ROADS = np.array(["人民中路", "中山路", "解放南路", "太湖大道", "金城路", "清扬路", "学前街", "梁溪路"])
REMARK = np.array(["正常", "已核实", "待复核", "迁入", "变更登记", ""])
FIELDS = [
    ("id_number", "公民身份号码", "string", "cn_id_card", "L4", True),
    ("name", "姓名", "string", "text", "L3", False),
    ("gender", "性别", "string", "enum", "L2", False),
    ("birth_date", "出生日期", "date", "date", "L3", False),
    ("mobile", "手机号码", "string", "mobile", "L3", False),
    ("credit_code", "单位统一社会信用代码", "string", "uscc", "L1", False),
    ("division_code", "行政区划代码", "string", "division_code", "L1", False),
    ("amount", "缴费金额", "decimal", "text", "L2", False),
    ("balance", "账户余额", "decimal", "text", "L2", False),
    ("reg_date", "登记日期", "date", "date", "L1", False),
    ("address", "住址", "string", "text", "L3", False),
    ("remark", "备注", "string", "text", "L1", False),
]


def generate(n: int, path: Path, seed: int = 7) -> None:
    """n rows, ~1 % defects (bad check characters, malformed mobiles, blank names), chunked."""
    rng = np.random.default_rng(seed)
    first = True
    chunk = 1_000_000
    with open(path, "wb") as out:
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            div = rng.choice(DIVS, m)
            year = rng.integers(1940, 2010, m)
            month = rng.integers(1, 13, m)
            day = rng.integers(1, 29, m)
            seq = rng.integers(0, 1000, m)
            birth = np.char.add(np.char.add(year.astype(str), np.char.zfill(month.astype(str), 2)),
                                np.char.zfill(day.astype(str), 2))
            body = np.char.add(np.char.add(div, birth), np.char.zfill(seq.astype(str), 3))
            digits = np.frombuffer(body.astype("S17").tobytes(), dtype=np.uint8).reshape(m, 17) - 48
            check = ID_C[(digits @ ID_W) % 11]
            bad = rng.random(m) < 0.01
            check = np.where(bad, np.where(check == "1", "2", "1"), check)
            ids = np.char.add(body, check)
            gender = np.where(seq % 2 == 1, "男", "女")
            name = np.char.add(np.char.add(rng.choice(SURN, m), rng.choice(GIVEN, m)), rng.choice(GIVEN, m))
            name = np.where(rng.random(m) < 0.005, "", name)
            mob = np.char.add(rng.choice(np.array(["138", "139", "150", "186", "177"]), m),
                              np.char.zfill(rng.integers(0, 10**8, m).astype(str), 8))
            mob = np.where(rng.random(m) < 0.01, np.char.add("12", np.char.zfill(rng.integers(0, 10**9, m).astype(str), 9)), mob)
            cv = rng.integers(0, 31, (m, 9))
            cbody_chars = np.array(list(USCC))[cv]
            cbody = np.array(["".join(r) for r in cbody_chars]) if m <= 10 else \
                np.frombuffer(cbody_chars.astype("S1").tobytes(), dtype="S9").astype(str)
            cb = np.char.add(np.char.add("91", div), cbody)
            cdig = np.frombuffer(cb.astype("S17").tobytes(), dtype=np.uint8).reshape(m, 17)
            lut = np.zeros(256, dtype=np.int64)
            for i, ch in enumerate(USCC):
                lut[ord(ch)] = i
            cc = np.array(list(USCC))[(31 - (lut[cdig] @ USCC_W) % 31) % 31]
            credit = np.char.add(cb, cc)
            amount = np.round(rng.uniform(100, 5000, m), 2)
            balance = np.round(rng.uniform(0, 200000, m), 2)
            reg = np.char.add(np.char.add(rng.integers(2000, 2026, m).astype(str), "-"),
                              np.char.add(np.char.zfill(rng.integers(1, 13, m).astype(str), 2), "-15"))
            addr = np.char.add(np.char.add("无锡市", rng.choice(ROADS, m)), np.char.add(rng.integers(1, 999, m).astype(str), "号"))
            t = pa.table({"公民身份号码": ids, "姓名": name, "性别": gender,
                          "出生日期": np.char.add(np.char.add(np.char.add(year.astype(str), "-"), np.char.add(np.char.zfill(month.astype(str), 2), "-")), np.char.zfill(day.astype(str), 2)),
                          "手机号码": mob, "单位统一社会信用代码": credit, "行政区划代码": div, "缴费金额": amount,
                          "账户余额": balance, "登记日期": reg, "住址": addr, "备注": rng.choice(REMARK, m)})
            buf = pa.BufferOutputStream()
            pacsv.write_csv(t, buf, pacsv.WriteOptions(include_header=first, quoting_style="needed"))
            out.write(buf.getvalue().to_pybytes())
            first = False


def to_gbk(src: Path, dst: Path) -> None:
    with open(src, encoding="utf-8") as fi, open(dst, "w", encoding="gbk") as fo:
        while chunk := fi.read(16 << 20):
            fo.write(chunk)


CHILD = r'''
import json, os, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[4])
import citybase.quality  # evaluation hook: ingest includes full validation
from citybase.core.identity.principal import SYSTEM
from citybase.db import session_scope
from citybase.lake import service as lake
from citybase.quality import service as quality
mode = sys.argv[3]
code, path = sys.argv[1], Path(sys.argv[2])
t = time.perf_counter()
if mode == "ingest":
    with session_scope() as s:
        v = lake.ingest_file(s, SYSTEM, code, path)
        rep = quality.get_report(s, code, v.number)
    out = {"seconds": time.perf_counter() - t, "rows": v.row_count, "encoding": v.encoding, "score": rep.score,
           "validation_ms": rep.duration_ms}
else:
    lake.macro_connection()  # macros registered once per process, outside the timing
    t = time.perf_counter()
    with session_scope() as s:
        rep = quality.evaluate(s, code)
    out = {"seconds": time.perf_counter() - t, "rows": rep.row_count}
# VmHWM: this process image's own peak. ru_maxrss would carry the parent's peak across exec
# (Linux keeps rusage over execve), and the parent held the generated data.
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")]
out["peak_rss_mb"] = int(hwm[0].split()[1]) / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
'''


def child(home: Path, code: str, path: Path, mode: str) -> dict:
    script = home / "child.py"
    script.write_text(CHILD)
    env = dict(os.environ, CITYBASE_HOME=str(home), CITYBASE_LAKE_KEEP_VERSIONS="2")
    r = subprocess.run([sys.executable, str(script), code, str(path), mode, str(ROOT / "src")], env=env,
                       capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-3000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def setup_home(home: Path) -> str:
    os.environ["CITYBASE_HOME"] = str(home)
    os.environ.setdefault("CITYBASE_ADMIN_PASSWORD", "bench-2026-pass")
    from citybase.catalog import service as catalog
    from citybase.catalog.schemas import FieldIn, ResourceIn
    from citybase.cli import run_init
    from citybase.core.identity.principal import SYSTEM
    from citybase.db import dispose_engines, session_scope

    run_init(quiet=True)
    with session_scope() as s:
        out = catalog.create_resource(s, SYSTEM, ResourceIn(
            name="基准测试人员信息", class_code="303001", class_name="人力资源和社会保障/社会保险",
            provider_code="320200-rsj", update_cycle="每月", share_condition="仅限政务部门使用",
            fields=[FieldIn(name=n, label=lab, data_type=dt, element=el, grading=g, is_key=k, nullable=not k,
                            enum_values=["男", "女"] if el == "enum" else [], position=i)
                    for i, (n, lab, dt, el, g, k) in enumerate(FIELDS)]))
    dispose_engines()
    return out.code


def pg_copy(path: Path, encoding: str, repeat: int) -> list[float]:
    import psycopg
    from tests.pgcluster import PgCluster

    cluster = PgCluster().start()
    try:
        times = []
        cols = ", ".join(f"c{i} text" for i in range(12))
        for _ in range(repeat):
            with psycopg.connect(host=str(cluster.socket), port=cluster.port, user="postgres", dbname="postgres",
                                 autocommit=True) as conn:
                conn.execute("DROP TABLE IF EXISTS xl")
                conn.execute(f"CREATE TABLE xl ({cols})")
                t = time.perf_counter()
                with conn.cursor() as cur, cur.copy(
                        f"COPY xl FROM STDIN (FORMAT csv, HEADER true, ENCODING '{encoding}')") as cp, \
                        open(path, "rb") as fh:
                    while buf := fh.read(8 << 20):
                        cp.write(buf)
                times.append(time.perf_counter() - t)
        return times
    finally:
        cluster.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--validation", default="1000000,5000000,10000000")
    ap.add_argument("--skip-copy", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cb-bench-ingest-"))
    home = work / "home"
    code = setup_home(home)
    results: dict = {"rows": args.rows, "columns": 12, "cpus": os.cpu_count(), "runs": {}}
    utf8 = work / "data-utf8.csv"
    t = time.perf_counter()
    generate(args.rows, utf8)
    gbk = work / "data-gbk.csv"
    to_gbk(utf8, gbk)
    print(f"generated {args.rows:,} rows in {time.perf_counter() - t:.1f}s: UTF-8 {utf8.stat().st_size / 1e6:.0f} MB, "
          f"GBK {gbk.stat().st_size / 1e6:.0f} MB")
    for label, path, pg_enc in (("utf-8", utf8, "UTF8"), ("gbk", gbk, "GBK")):
        runs = [child(home, code, path, "ingest") for _ in range(args.repeat)]
        med = statistics.median(r["seconds"] for r in runs)
        peak = max(r["peak_rss_mb"] for r in runs)
        entry = {"ingest_seconds": [round(r["seconds"], 3) for r in runs], "median_seconds": round(med, 3),
                 "rows_per_second": round(args.rows / med), "peak_rss_mb": round(peak),
                 "validation_ms": [r["validation_ms"] for r in runs], "quality_score": runs[0]["score"],
                 "file_mb": round(path.stat().st_size / 1e6)}
        if not args.skip_copy:
            copy = pg_copy(path, pg_enc, args.repeat)
            entry["pg_copy_seconds"] = [round(x, 3) for x in copy]
            entry["pg_copy_median"] = round(statistics.median(copy), 3)
            entry["speedup_vs_copy"] = round(statistics.median(copy) / med, 2)
        results["runs"][label] = entry
        print(f"{label}: median {med:.2f}s = {args.rows / med:,.0f} rows/s (ingest + validation), "
              f"peak RSS {peak:.0f} MB" + (f"; PostgreSQL COPY median {entry['pg_copy_median']:.2f}s → "
                                          f"ingest at {entry['speedup_vs_copy']}× COPY's speed" if not args.skip_copy else ""))
    results["validation"] = []
    for n in [int(x) for x in args.validation.split(",") if x]:
        p = work / f"v{n}.csv"
        generate(n, p, seed=n)
        child(home, code, p, "ingest")
        p.unlink()
        runs = [child(home, code, p, "evaluate") for _ in range(args.repeat)]
        med = statistics.median(r["seconds"] for r in runs)
        results["validation"].append({"rows": n, "median_seconds": round(med, 3),
                                      "rows_per_second": round(n / med),
                                      "peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs))})
        print(f"validation of {n:,} rows: median {med:.2f}s ({n / med:,.0f} rows/s)")
    out = ROOT / "benchmarks" / "results" / "ingest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print(f"wrote {out}")
    import shutil

    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
