"""The public store's query paths (count tables, ART indexes, insertion order) agree with brute force."""

from __future__ import annotations

import random
from types import SimpleNamespace

import duckdb
import pytest

from citybase.core.errors import BadInput


@pytest.fixture
def store(db_home, tmp_path):
    from citybase.opendata.service import datastore

    n = 3000
    parquet = tmp_path / "p.parquet"
    duckdb.execute(f"""COPY (SELECT 'R' || i AS rec, 'S' || (i % 7) AS small, CAST(i % 900 AS BIGINT) AS mid,
                       DATE '2026-01-01' + CAST(i % 40 AS INTEGER) AS day FROM range({n}) r(i)) TO '{parquet}' (FORMAT PARQUET)""")
    types = [("rec", "string"), ("small", "string"), ("mid", "integer"), ("day", "date")]
    fields = [SimpleNamespace(name=c, label=c, data_type=t, grading="L1", element="text", position=i)
              for i, (c, t) in enumerate(types)]
    cols = [datastore.Column(c, c, t, False) for c, t in types]
    path = tmp_path / "s.duckdb"
    datastore._build(SimpleNamespace(code="t", fields=fields), str(parquet), cols, path, indexes=True)
    s = datastore.open_store("t", 1, path, cols)
    yield s, n
    s.con.close()


def test_paths_agree_with_brute_force(store):
    from citybase.opendata.service import datastore

    s, n = store
    meta = dict(s.con.execute("SELECT col, indexed FROM meta").fetchall())
    assert meta["rec"] and meta["mid"] and not meta["small"]  # selective columns are indexed
    assert set(s.counted) == {"rec", "small", "mid", "day"}
    rng = random.Random(1)
    for _ in range(40):
        col, value = rng.choice([("rec", f"R{rng.randrange(n + 5)}"), ("small", f"S{rng.randrange(8)}"),
                                 ("mid", rng.randrange(905)), ("day", f"2026-01-{rng.randrange(1, 32):02d}")])
        got = datastore.search(s, filters={col: value}, limit=5, include_total=True)
        lit = f"'{value}'" if col != "mid" else str(value)
        if col == "day":
            lit = f"DATE '{value}'"
        want_total = s.con.execute(f"SELECT count(*) FROM t WHERE {col} = {lit}").fetchone()[0]
        want_ids = [r[0] for r in s.con.execute(f"SELECT _id FROM t WHERE {col} = {lit} ORDER BY _id LIMIT 5").fetchall()]
        assert got["total"] == want_total, (col, value)
        assert [r["_id"] for r in got["records"]] == want_ids, (col, value)
    two = datastore.search(s, filters={"small": "S1", "day": "2026-01-02"}, include_total=True)
    assert two["total"] == s.con.execute("SELECT count(*) FROM t WHERE small = 'S1' AND day = DATE '2026-01-02'").fetchone()[0]
    ordered = datastore.search(s, sort="mid desc, rec", limit=3)
    assert [r["mid"] for r in ordered["records"]] == [899, 899, 899]
    assert datastore.search(s, offset=2998, limit=10)["records"][-1]["_id"] == n
    with pytest.raises(BadInput):
        datastore.search(s, filters={"mid": "abc"})
    with pytest.raises(BadInput):
        datastore.search(s, filters={"rec": ["x"] * 1001})
