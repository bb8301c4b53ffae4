"""Export of granted rows with masking, streamed as CSV.

Target (issue 4): 1,000,000 granted rows with masking streamed as CSV at ≥ 500,000 rows/s with
flat memory. The rows are a 有条件共享 person resource (ID number L4, name L3, mobile L3, address
L3, plus L1/L2 columns); the grant names 8 信息项 and a row filter, 4 of the 信息项 are masked in
DuckDB (cb_mask_* macros) and the CSV is produced batch by batch from Arrow record batches.

Measured in the same run:
- service: ``prepare_export`` (authorise, count, audit) + consuming ``stream_export``;
- http: the same export over the real app (uvicorn on 127.0.0.1, streamed with httpx);
- baseline: the naive way — fetch rows into Python, mask each value with citybase.standards.masking,
  write with the csv module (on a 100,000-row slice, reported per row).
Peak RSS growth is sampled every 20 ms while streaming.

    .venv/bin/python benchmarks/bench_exchange_export.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

TARGET_ROWS_PER_S = 500_000


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class Sampler:
    def __init__(self) -> None:
        self.peak = 0.0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_mb())
            time.sleep(0.02)

    def __enter__(self) -> Sampler:
        self.start = rss_mb()
        self.peak = self.start
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def make_table(n: int):
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(2026)
    idx = np.arange(n)
    districts = np.array(["320205", "320206", "320211", "320213", "320214", "320281", "320282"])
    surnames = np.array(list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"))
    given = np.array(["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟"])
    roads = np.array(["中山路", "人民中路", "解放南路", "清扬路", "学前街", "梁溪路", "太湖大道", "长江路"])
    d = districts[rng.integers(0, len(districts), n)]
    ids = pa.array([f"{d[i]}19{80 + i % 20:02d}0{1 + i % 9}1{i % 10}{i % 1000:03d}{i % 10}" for i in range(n)])
    names = pa.array(np.char.add(surnames[rng.integers(0, len(surnames), n)], given[rng.integers(0, len(given), n)]))
    phones = pa.array([f"1{3 + i % 6}{i:09d}" for i in range(n)])
    addr = pa.array(np.char.add(np.char.add("江苏省无锡市梁溪区", roads[rng.integers(0, len(roads), n)]),
                                (rng.integers(1, 999, n)).astype(str)))
    return pa.table({
        "gmsfhm": ids, "xm": names, "lxdh": phones, "dz": addr,
        "xb": pa.array(np.where(idx % 2 == 0, "男", "女")),
        "nl": pa.array(rng.integers(18, 90, n)), "xzqh": pa.array(d),
        "cbzt": pa.array(np.where(idx % 10 == 0, "暂停缴费", "正常参保")),
        "bz": pa.array(np.full(n, "无")),
    })


def setup(n: int) -> tuple[int, object]:
    from citybase.catalog import service as catalog
    from citybase.catalog.schemas import FieldIn, ResourceIn
    from citybase.cli import run_init
    from citybase.core.identity.principal import SYSTEM
    from citybase.db import session_scope
    from citybase.demo.loader import load_demo
    from citybase.exchange import service
    from citybase.exchange.schemas import ApproveIn, RequestIn
    from citybase.lake import service as lake

    run_init(admin_password="citybase2026", quiet=True)
    load_demo(with_modules=False)
    import citybase.exchange  # noqa: F401

    fields = [FieldIn(name="gmsfhm", label="公民身份号码", element="cn_id_card", grading="L4", is_key=True,
                      nullable=False),
              FieldIn(name="xm", label="姓名", grading="L3"), FieldIn(name="lxdh", label="联系电话", element="mobile",
                                                                     grading="L3"),
              FieldIn(name="dz", label="户籍地址", grading="L3"), FieldIn(name="xb", label="性别", grading="L2"),
              FieldIn(name="nl", label="年龄", data_type="integer"), FieldIn(name="xzqh", label="行政区划代码",
                                                                           element="division_code"),
              FieldIn(name="cbzt", label="参保状态"), FieldIn(name="bz", label="备注")]
    with session_scope() as s:
        catalog.create_resource(s, SYSTEM, ResourceIn(
            code="303001-9999", name="参保人员（基准）", class_code="303001", provider_code="320200-rsj",
            share_type="有条件共享", share_condition="仅限政务部门", fields=fields))
        catalog.publish_direct(s, SYSTEM, "303001-9999")
    print(f"生成并归集 {n:,} 行 …", flush=True)
    t = time.perf_counter()
    table = make_table(n)
    with session_scope() as s:
        lake.ingest_table(s, SYSTEM, "303001-9999", table, source_label="基准")
    print(f"  归集 {time.perf_counter() - t:.1f} s", flush=True)

    from citybase.core.identity import service as identity
    from citybase.db import make_session

    with make_session() as s:  # 市公安局 asks 市人社局 for insured persons
        consumer = identity.principal_for(identity.get_user(s, "gaj_officer"), "session")
    with session_scope() as s:
        r = service.create_request(s, consumer, RequestIn(
            resource_code="303001-9999", fields=["gmsfhm", "xm", "lxdh", "dz", "xb", "nl", "xzqh", "cbzt"],
            row_filter=[{"field": "nl", "op": "between", "value": [0, 200]}],
            purpose="基准测试", legal_basis="基准测试"))
    from citybase.core.identity.principal import Principal

    officer = Principal(username="rsj_bench", role="data_officer", org_code="320200-rsj", via="session")  # 人社 officer
    with session_scope() as s:
        g = service.approve(s, officer, r.id, ApproveIn(rate_limit_per_minute=6000))
    return g.id, consumer


def run_service(grant_id: int, principal: object) -> tuple[int, int, float]:
    from citybase.db import session_scope
    from citybase.exchange import service

    t = time.perf_counter()
    with session_scope() as s:
        plan = service.prepare_export(s, principal, "303001-9999", "csv", grant_id=grant_id)
    nbytes = 0
    newlines = 0
    for chunk in service.stream_export(plan):
        nbytes += len(chunk)
        newlines += chunk.count(b"\n")
    return newlines - 1, nbytes, time.perf_counter() - t


def run_http(base: str, token: str, grant_id: int) -> tuple[int, int, float]:
    import httpx

    t = time.perf_counter()
    nbytes = newlines = 0
    with httpx.stream("GET", f"{base}/api/exchange/data/303001-9999/export.csv", params={"grant_id": grant_id},
                      headers={"Authorization": f"Bearer {token}"}, timeout=600) as r:
        r.raise_for_status()
        for chunk in r.iter_bytes():  # decoded, should any proxy compress it
            nbytes += len(chunk)
            newlines += chunk.count(b"\n")
    return newlines - 1, nbytes, time.perf_counter() - t


def run_baseline(limit: int) -> tuple[int, float]:
    from citybase.db import make_session
    from citybase.lake import service as lake
    from citybase.standards.masking import mask_value

    with make_session() as s:
        v = lake.current_version(s, "303001-9999")
    import duckdb

    t = time.perf_counter()
    rows = duckdb.sql(f"SELECT gmsfhm, xm, lxdh, dz, xb, nl, xzqh, cbzt FROM read_parquet('{lake.parquet_glob(v)}') "
                      f"LIMIT {limit}").fetchall()
    out = io.StringIO()
    w = csv.writer(out)
    kinds = ["cn_id_card", "name", "mobile", "address", None, None, None, None]
    for row in rows:
        w.writerow([mask_value(k, x) if k else x for k, x in zip(kinds, row, strict=True)])
    return len(rows), time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline-rows", type=int, default=100_000)
    args = ap.parse_args()
    home = tempfile.mkdtemp(prefix="cb-bench-exchange-")
    os.environ["CITYBASE_HOME"] = home
    os.environ.setdefault("CITYBASE_ADMIN_PASSWORD", "citybase2026")
    grant_id, consumer = setup(args.rows)

    results: dict[str, object] = {"rows": args.rows, "target_rows_per_s": TARGET_ROWS_PER_S,
                                  "cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()}
    runs = []
    for i in range(args.repeat):
        with Sampler() as smp:
            n, nbytes, dt = run_service(grant_id, consumer)
        runs.append({"rows": n, "bytes": nbytes, "seconds": dt, "rows_per_s": n / dt,
                     "rss_start_mb": smp.start, "rss_peak_mb": smp.peak})
        print(f"  service run {i + 1}: {n:,} 行 {nbytes / 2**20:.0f} MiB {dt:.2f} s → {n / dt:,.0f} 行/s，"
              f"RSS {smp.start:.0f} → 峰值 {smp.peak:.0f} MiB", flush=True)
        assert n == args.rows, n
    med = statistics.median(r["rows_per_s"] for r in runs)
    results["service"] = {"runs": runs, "median_rows_per_s": med, "ratio_to_target": med / TARGET_ROWS_PER_S,
                          "max_rss_growth_mb": max(r["rss_peak_mb"] - r["rss_start_mb"] for r in runs)}

    # the same export over HTTP
    import uvicorn

    from citybase.app import create_app
    from citybase.core.identity import service as identity
    from citybase.db import session_scope

    with session_scope() as s:
        _row, token = identity.create_token(s, consumer, consumer.username, name="bench")
    import socket

    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        port = so.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    while not server.started:
        time.sleep(0.05)
    http_runs = []
    for i in range(args.repeat):
        with Sampler() as smp:
            n, nbytes, dt = run_http(f"http://127.0.0.1:{port}", token, grant_id)
        http_runs.append({"rows": n, "bytes": nbytes, "seconds": dt, "rows_per_s": n / dt,
                          "rss_start_mb": smp.start, "rss_peak_mb": smp.peak})
        print(f"  http run {i + 1}: {n:,} 行 {dt:.2f} s → {n / dt:,.0f} 行/s，RSS 峰值增长 "
              f"{smp.peak - smp.start:.0f} MiB", flush=True)
    server.should_exit = True
    th.join(timeout=10)
    hmed = statistics.median(r["rows_per_s"] for r in http_runs)
    results["http"] = {"runs": http_runs, "median_rows_per_s": hmed, "ratio_to_target": hmed / TARGET_ROWS_PER_S,
                       "max_rss_growth_mb": max(r["rss_peak_mb"] - r["rss_start_mb"] for r in http_runs)}

    bn, bdt = run_baseline(args.baseline_rows)
    results["baseline_python_rows_per_s"] = bn / bdt
    results["speedup_vs_python_baseline"] = med / (bn / bdt)
    print(f"  baseline (Python 逐行脱敏 + csv): {bn:,} 行 {bdt:.2f} s → {bn / bdt:,.0f} 行/s")
    print(f"中位数：服务层 {med:,.0f} 行/s（目标 {TARGET_ROWS_PER_S:,}，{med / TARGET_ROWS_PER_S:.2f}×）；"
          f"HTTP {hmed:,.0f} 行/s（{hmed / TARGET_ROWS_PER_S:.2f}×）；比 Python 基线快 {med / (bn / bdt):.1f}×")
    results["load_average_at_end"] = os.getloadavg()
    print(f"系统负载（1/5/15 分钟）：开始 {results['load_average_at_start']}，结束 {results['load_average_at_end']}")
    out = ROOT / "benchmarks" / "results" / "bench_exchange_export.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print(f"结果写入 {out}")


if __name__ == "__main__":
    main()
