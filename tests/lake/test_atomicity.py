"""A killed ingest (kill -9) leaves the previous version current and lists no partial version."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from citybase.core.identity.principal import SYSTEM
from citybase.db import dispose_engines, make_session, session_scope
from citybase.lake import service as lake
from tests.lake.helpers import PERSONS_CSV, make_resource, write

ROOT = Path(__file__).resolve().parents[2]

CHILD = r'''
import os, signal, sys, pathlib
import citybase.quality  # the evaluation hook runs inside the ingest transaction
from citybase.core.identity.principal import SYSTEM
from citybase.db import session_scope
from citybase.lake import service as lake

code, path, stage, flag = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3], pathlib.Path(sys.argv[4])

def prog(frac, msg):
    if stage == "write" and msg.startswith("校验并写入"):
        flag.write_text("writing")          # the parent kills us while the Parquet is being written
    if stage == "commit" and msg == "质量检核":
        os.kill(os.getpid(), signal.SIGKILL)  # renamed into place and recorded, not yet committed

with session_scope() as s:
    lake.ingest_file(s, SYSTEM, code, path, progress=prog)
print("finished")
'''


def _big_csv(path: Path, n: int) -> Path:
    head = PERSONS_CSV.splitlines()[0]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(head + "\n")
        for i in range(n):
            fh.write(f"3202051990{i % 10000:04d}{i:04d},名{i},男,1990-01-01,1380000{i % 10000:04d}\n")
    return path


@pytest.fixture
def loaded(city, tmp_path):
    with session_scope() as s:
        code = make_resource(s)
        lake.ingest_file(s, SYSTEM, code, write(tmp_path / "good.csv", PERSONS_CSV))
    dispose_engines()  # the child opens its own connections (SQLite WAL or PostgreSQL)
    return code


def _child(code: str, path: Path, stage: str, flag: Path) -> subprocess.Popen:
    script = path.parent / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    return subprocess.Popen([sys.executable, str(script), code, str(path), stage, str(flag)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(ROOT))


def _assert_untouched(code: str) -> None:
    with make_session() as s:
        cur = lake.current_version(s, code)
        assert cur is not None and cur.number == 1 and cur.row_count == 3
        assert [v.number for v in lake.list_versions(s, code)] == [1]
    cols, rows = lake.read_rows(cur)
    assert sorted(r[1] for r in rows) == ["张三", "李四", "王五"]


def test_kill_while_writing_parquet(loaded, tmp_path):
    big = _big_csv(tmp_path / "big.csv", 400_000)
    flag = tmp_path / "flag"
    proc = _child(loaded, big, "write", flag)
    deadline = time.monotonic() + 60
    while not flag.exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    base = lake.lake_dir() / loaded
    while not any(base.glob(".tmp-*/part-0.parquet")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    assert b"finished" not in proc.stdout.read()
    _assert_untouched(loaded)
    assert any(base.glob(".tmp-*"))  # the half-written folder is still there, but invisible
    with session_scope() as s:  # and the next ingest works
        v = lake.ingest_file(s, SYSTEM, loaded, write(tmp_path / "again.csv", PERSONS_CSV))
    assert v.number == 2


def test_kill_after_rename_before_commit(loaded, tmp_path):
    proc = _child(loaded, write(tmp_path / "next.csv", PERSONS_CSV.replace("王五", "赵六")), "commit",
                  tmp_path / "flag")
    proc.wait(120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    _assert_untouched(loaded)
    orphan = lake.lake_dir() / loaded / "v000002"
    assert orphan.is_dir()  # renamed into place, but no row lists it
    with make_session() as s:
        assert lake.cleanup_orphans(s, loaded) == [f"{loaded}/v000002"]
    assert not orphan.exists()
    with session_scope() as s:
        v = lake.ingest_file(s, SYSTEM, loaded, write(tmp_path / "again.csv", PERSONS_CSV))
    assert v.number == 2
