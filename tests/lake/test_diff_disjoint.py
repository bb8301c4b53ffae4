"""A new version whose keys share nothing with the old one is a clean diff, not a crash."""

from __future__ import annotations

from citybase.core.identity.principal import SYSTEM
from citybase.db import session_scope
from citybase.lake import service as lake
from tests.lake.helpers import make_resource, write

V1 = "公民身份号码,姓名\n11010519491231002X,张三\n320281197001010012,李四\n"
V2 = "公民身份号码,姓名\n320102198001010015,王五\n"


def test_disjoint_keys(city, tmp_path):
    with session_scope() as s:
        code = make_resource(s)
        lake.ingest_file(s, SYSTEM, code, write(tmp_path / "v1.csv", V1))
        v2 = lake.ingest_file(s, SYSTEM, code, write(tmp_path / "v2.csv", V2))
    assert (v2.rows_added, v2.rows_removed, v2.rows_changed) == (1, 2, 0)
