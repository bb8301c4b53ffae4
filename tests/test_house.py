"""The house rules of ARCHITECTURE.md, checked: import contracts, file sizes, one settings object,
hooks loaded once."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "citybase"


def _python_files() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def _lint_imports(cwd: Path, src: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
                           "lint_imports_command()", "--no-cache"],
                          cwd=cwd, env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=300)


def test_import_contracts_hold():
    """Floors, no service importing web, no import cycles, each module's tables its own."""
    out = _lint_imports(ROOT, ROOT / "src")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


def test_a_forbidden_import_breaks_the_contracts(tmp_path):
    """The contracts really catch a lower floor importing a higher one: the lake importing events."""
    copy = tmp_path / "src"
    shutil.copytree(SRC, copy / "citybase", ignore=shutil.ignore_patterns("__pycache__", "node_modules"))
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text(encoding="utf-8"),
                                            encoding="utf-8")
    target = copy / "citybase" / "lake" / "service" / "versions.py"
    target.write_text(target.read_text(encoding="utf-8") + "\nfrom citybase.events import service as _events\n",
                      encoding="utf-8")
    out = _lint_imports(tmp_path, copy)
    assert out.returncode != 0
    assert "citybase.lake is not allowed to import citybase.events" in out.stdout


def test_no_source_file_over_700_lines():
    big = {str(p.relative_to(SRC)): n for p in _python_files()
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > 700}
    assert big == {}


def test_importlib_only_in_the_module_registry():
    """Modules are found by name in one place; nothing else probes for them."""
    found = [str(p.relative_to(SRC)) for p in _python_files()
             if p.name != "modules.py" and re.search(r"\bimportlib\b", p.read_text(encoding="utf-8"))]
    assert found == []


def test_the_environment_is_read_only_by_the_settings():
    """Every CITYBASE_* variable is a field of the one Settings object, read in config.py only."""
    pattern = re.compile(r"os\.environ(\.get)?\s*[\[(]\s*[\"']CITYBASE_|os\.getenv\(\s*[\"']CITYBASE_")
    found = [str(p.relative_to(SRC)) for p in _python_files()
             if p.name != "config.py" and pattern.search(p.read_text(encoding="utf-8"))]
    assert found == []


def test_the_readme_lists_every_setting():
    """The README's settings reference is the table `citybase config --markdown` prints."""
    from citybase.config import Settings, reference_table

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert reference_table() in readme
    for name in Settings.model_fields:
        assert f"`CITYBASE_{name.upper()}`" in readme


def test_config_command_hides_secrets(db_home, monkeypatch):
    from typer.testing import CliRunner

    from citybase.cli import app
    from citybase.config import reset_settings

    monkeypatch.setenv("CITYBASE_SECRET_KEY", "do-not-show-me")
    monkeypatch.setenv("CITYBASE_DATABASE_URL", "postgresql+psycopg://u:pw-do-not-show@127.0.0.1/x")
    reset_settings()
    try:
        table = CliRunner().invoke(app, ["config"])
        listed = CliRunner().invoke(app, ["config", "--json"])
    finally:
        monkeypatch.undo()
        reset_settings()
    assert table.exit_code == 0 and listed.exit_code == 0, table.output + listed.output
    assert "生效配置" in table.output
    rows = {r["variable"]: r for r in json.loads(listed.output)}
    assert rows["CITYBASE_LAKE_KEEP_VERSIONS"]["value"] == "10" and "CITYBASE_IOT_MAX_BATCH" in rows
    assert rows["CITYBASE_SECRET_KEY"]["value"] == "******"
    assert rows["CITYBASE_DATABASE_URL"]["value"] == "postgresql+psycopg://u:******@127.0.0.1/x"
    for out in (table.output, listed.output):
        assert "do-not-show-me" not in out and "pw-do-not-show" not in out


def test_every_module_hooks_file_is_registered_once():
    from citybase import hooks, modules

    pm = hooks.manager()
    assert hooks.manager() is pm
    names = [name for name, _ in pm.list_name_plugin()]
    assert len(names) == len(set(names))
    expected = [m for m in modules.MODULES if (SRC / Path(*m.split(".")) / "hooks.py").exists()]
    assert [n for n in names if n in modules.MODULES] == expected
    with pytest.raises(ValueError):  # pluggy refuses a second registration, so no hook runs twice
        modules.load_hooks(pm)


def test_each_listener_hears_of_a_new_version_once(city):
    """Starting the app twice, the worker's job modules and the CLI registers nothing again: the lake's
    announcement reaches quality, the base libraries and exchange once each, in module order."""
    import citybase.cli  # noqa: F401 - the CLI loads every module's commands
    from citybase import hooks
    from citybase.app import create_app
    from citybase.jobs import load_job_modules

    create_app()
    create_app()
    load_job_modules()
    assert [m for m, _ in hooks.implementations("lake_version_committed")] == ["quality", "baselib", "exchange"]
    assert [m for m, _ in hooks.implementations("catalog_resource_panels")] == ["lake", "exchange"]
    assert [m for m, _ in hooks.implementations("warm_up")] == ["events"]


# TEXT columns that hold JSON on purpose (everything else JSON is the one JSON type, sqlalchemy.JSON):
TEXT_JSON_ON_PURPOSE = {
    ("audit_entry", "detail"),  # the canonical JSON exactly as hashed into the chain
    ("grid_cell", "geometry"),  # GeoJSON served as stored text
    ("iot_rule_state", "prev"),  # written and read in bulk with driver-level SQL on every ingest batch
}


def test_json_is_stored_in_the_one_json_type(city):
    """Every column holding JSON is a sqlalchemy.JSON column, checked on real demo rows: no TEXT
    column outside the named exceptions holds a JSON array or object."""
    from sqlalchemy import JSON, Text, select

    from citybase.catalog import demo as catalog_demo
    from citybase.db import Base, make_session
    from citybase.exchange import demo as exchange_demo
    from citybase.lake import demo as lake_demo
    from citybase.modules import rooms

    rooms("models")
    catalog_demo.load()
    lake_demo.load()
    exchange_demo.load()
    json_types = {type(c.type) for t in Base.metadata.tables.values() for c in t.columns
                  if isinstance(c.type, JSON)}
    assert json_types == {JSON}
    found = set()
    with make_session() as s:
        for table in Base.metadata.tables.values():
            for col in table.columns:
                if not isinstance(col.type, Text) or (table.name, col.name) in TEXT_JSON_ON_PURPOSE:
                    continue
                for (value,) in s.execute(select(col).where(col.is_not(None)).limit(50)):
                    text = (value or "").strip()
                    if text[:1] in "[{":
                        try:
                            json.loads(text)
                        except ValueError:
                            continue
                        found.add((table.name, col.name))
    assert found == set()


def test_every_api_operation_has_a_chinese_summary_and_tag(client):
    import re

    doc = client.get("/openapi.json").json()
    zh = re.compile(r"[\u4e00-\u9fff]")
    ops = [(m.upper(), p, o) for p, v in doc["paths"].items() for m, o in v.items()]
    assert len(ops) > 100
    bad = [(m, p, o.get("summary")) for m, p, o in ops
           if not zh.search(o.get("summary", "")) or not all(zh.search(t) for t in o.get("tags", ["-"]))]
    assert bad == []
