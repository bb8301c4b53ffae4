"""Resident memory of the demo server at idle (issue 2: ≤ 300 MB).

Starts `citybase serve` on a fresh home with the reference data and demo accounts loaded, waits for
/healthz, requests a few pages, lets it settle, then reads the process tree's RSS (psutil).
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).with_name("citybase"))


def rss_mb(proc: psutil.Process) -> float:
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += child.memory_info().rss
    return total / 1024 / 1024


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="cb-mem-"))
    env = dict(os.environ, CITYBASE_HOME=str(home), CITYBASE_ADMIN_PASSWORD="citybase2026")
    env.pop("CITYBASE_DATABASE_URL", None)
    subprocess.run([CLI, "demo", "--no-serve"], env=env, check=True, stdout=subprocess.DEVNULL)
    port = 18765
    server = subprocess.Popen([CLI, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        for path in ("/", "/login", "/healthz", "/open", "/catalog"):
            httpx.get(base + path, headers={"accept": "text/html"})
        time.sleep(3)
        proc = psutil.Process(server.pid)
        samples = []
        for _ in range(5):
            samples.append(rss_mb(proc))
            time.sleep(1)
        result = {"rss_mb_median": round(statistics.median(samples), 1), "samples_mb": [round(s, 1) for s in samples],
                  "target_mb": 300}
    finally:
        server.terminate()
        server.wait(10)
    print(json.dumps(result, ensure_ascii=False))
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "server_memory.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
