"""Each version keeps its row hashes in a side file; the diff reads those instead of both versions
whole, and must count exactly as hashing the data does — with duplicate keys, without a key, after
append and upsert — and fall back to the data when the side files hashed something else."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from citybase.catalog.schemas import FieldIn
from citybase.core.identity.principal import SYSTEM
from citybase.db import session_scope
from citybase.lake import pipeline
from citybase.lake import service as lake
from tests.lake.helpers import make_resource, write

HEAD = "公民身份号码,姓名,出生日期\n"
A, B, C, D = "11010519491231002X", "320281197001010012", "320102198001010015", "320205198001010011"
V1 = HEAD + f"{A},张三,1949-12-31\n{B},李四,1970-01-01\n{C},王五,1980-01-01\n{C},王五,1980-01-01\n"
# A unchanged, B changed, C: one of two copies gone (removed 1), D added twice
V2 = HEAD + f"{A},张三,1949-12-31\n{B},李四四,1970-01-01\n{C},王五,1980-01-01\n{D},赵六,1980-01-01\n{D},赵六,1980-01-01\n"


def _slow(old: str, new: str, columns: list[str], keys: list[str], tmp: Path) -> tuple[int, int, int]:
    """The same diff with the side files out of reach: hashes of the data itself."""
    copies = []
    for i, glob in enumerate((old, new)):
        folder = tmp / f"copy{i}"
        folder.mkdir(parents=True)
        for f in Path(glob).parent.glob("*.parquet"):
            shutil.copy(f, folder / f.name)
        copies.append(str(folder / "*.parquet"))
    return pipeline.diff_versions(duckdb.connect(), *copies, columns, keys)


@pytest.mark.parametrize("keyed", [True, False])
def test_side_file_diff_counts_as_the_data_does(city, tmp_path, keyed):
    fields = [FieldIn(name="id_number", label="公民身份号码", is_key=keyed, nullable=not keyed, position=1),
              FieldIn(name="name", label="姓名", position=2),
              FieldIn(name="birth_date", label="出生日期", data_type="date", position=3)]
    with session_scope() as s:
        code = make_resource(s, fields=fields)
        v1 = lake.ingest_file(s, SYSTEM, code, write(tmp_path / "v1.csv", V1))
        v2 = lake.ingest_file(s, SYSTEM, code, write(tmp_path / "v2.csv", V2))
        v3 = lake.ingest_file(s, SYSTEM, code, write(tmp_path / "v3.csv", HEAD + f"{A},张三,1949-12-31\n"),
                              mode="append")
    old, new = lake.parquet_glob(v1), lake.parquet_glob(v2)
    for glob in (old, new):
        assert (Path(glob).parent / pipeline.HASH_DIR).is_dir()
    # the side file is not data: the version's own glob still holds exactly its rows
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{new}')").fetchall()[0][0] == v2.row_count == 5
    cols, keys = ["id_number", "name", "birth_date"], ["id_number"] if keyed else []
    assert all(pipeline._hashed(str(Path(g).parent / pipeline.HASH_DIR / "*.parquet"), cols, keys) for g in (old, new))
    got = (v2.rows_added, v2.rows_removed, v2.rows_changed)
    # keyed: D +2, C -1, B changed; multiset: D×2 and B's new row added, C's copy and B's old row removed
    assert got == ((2, 1, 1) if keyed else (3, 2, 0))
    assert got == _slow(old, new, cols, keys, tmp_path / "a")
    assert (v3.rows_added, v3.rows_removed, v3.rows_changed) == (1, 0, 0)
    assert (v3.rows_added, v3.rows_removed, v3.rows_changed) == _slow(new, lake.parquet_glob(v3), cols, keys,
                                                                      tmp_path / "b")


def test_upsert_and_a_changed_schema_fall_back_to_the_data(city, tmp_path):
    with session_scope() as s:
        code = make_resource(s)
        lake.ingest_file(s, SYSTEM, code, write(tmp_path / "v1.csv", V1))
        v2 = lake.ingest_file(s, SYSTEM, code, write(tmp_path / "v2.csv", HEAD + f"{B},李四四,1970-01-01\n"),
                              mode="upsert")
        assert (v2.rows_added, v2.rows_removed, v2.rows_changed) == (0, 0, 1)
        # side files that hashed other columns are not used: the diff of a subset reads the data
        d = lake.diff(s, code, v2.number - 1, v2.number)
    assert (d.rows_added, d.rows_removed, d.rows_changed) == (0, 0, 1)
    vo_glob = lake.parquet_glob(v2)
    assert not pipeline._hashed(str(Path(vo_glob).parent / pipeline.HASH_DIR / "*.parquet"), ["name"], [])
    assert pipeline._hashed(str(Path(vo_glob).parent / pipeline.HASH_DIR / "*.parquet"),
                            ["id_number", "name", "gender", "birth_date", "mobile"], ["id_number"])
