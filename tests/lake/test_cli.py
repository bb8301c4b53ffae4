"""`citybase ingest` and `citybase quality report` from the command line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from citybase.db import session_scope
from tests.lake.helpers import PERSONS_CSV, make_resource, write


@pytest.fixture
def code(city):
    with session_scope() as s:
        return make_resource(s)


def test_ingest_json_exit_zero_with_findings_then_report(code, tmp_path):
    from citybase.cli import app

    bad = PERSONS_CSV + "11010519491231002X,重复,女,1949-12-31,13800138000\n"
    runner = CliRunner()
    r = runner.invoke(app, ["ingest", str(write(tmp_path / "p.csv", bad, "gb18030")), "--resource", code, "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["version"]["number"] == 1 and out["version"]["row_count"] == 4
    assert out["quality"]["success"] is False
    assert any(f["type"] == "expect_column_values_to_be_unique" and f["unexpected_count"] == 2
               for f in out["quality"]["findings"])
    r = runner.invoke(app, ["quality", "report", code, "--version", "1", "--json"])
    assert r.exit_code == 0
    gx = json.loads(r.stdout)
    assert gx["meta"]["version"] == 1 and gx["statistics"]["unsuccessful_expectations"] >= 1


def test_ingest_unreadable_input_exits_non_zero(code, tmp_path):
    from citybase.cli import app

    r = CliRunner().invoke(app, ["ingest", str(write(tmp_path / "e.csv", "")), "--resource", code])
    assert r.exit_code == 2
    assert "empty_file" in r.stderr and "为空" in r.stderr
    r = CliRunner().invoke(app, ["ingest", str(write(tmp_path / "p.csv", PERSONS_CSV)), "--resource", code,
                                 "--mode", "sideways"])
    assert r.exit_code == 2 and "bad_mode" in r.stderr
