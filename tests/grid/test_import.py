"""GeoJSON import: a good layer is written whole; any bad feature is named and nothing is written."""

from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import func, select

from citybase.core.audit import service as audit
from citybase.core.errors import BadInput, PermissionDenied
from citybase.core.identity.principal import SYSTEM, Principal
from citybase.db import make_session, session_scope
from citybase.grid import service
from citybase.grid.models import Grid, GridCommunity
from tests.grid.conftest import block_features, collection, square


def _import(data, mode="replace", principal=SYSTEM):
    with session_scope() as s:
        return service.import_geojson(s, principal, data, mode=mode, source_label="test")


def _state():
    with make_session() as s:
        return (s.execute(select(func.count()).select_from(Grid)).scalar_one(),
                s.execute(select(func.count()).select_from(GridCommunity)).scalar_one(),
                service.layer_version(s))


def test_good_import_writes_grids_communities_and_an_audit_entry(city):
    result = _import(collection(block_features()))
    assert (result.grids, result.communities, result.streets, result.districts) == (4, 2, 1, 1)
    with make_session() as s:
        comms = {c.code: c for c in service.communities(s)}
        assert comms["320213021001"].name == "春江社区" and comms["320213021001"].kind == "社区"
        assert comms["320213021002"].grid_count == 2 and not comms["320213021002"].generated
        g = service.get_grid(s, "320213021002001")
        assert g.name == "清扬社区第1网格" and g.source == "import"
        entries = audit.entries_for_object(s, "grid_layer", result.version)
        assert [e.action for e in entries] == ["grid.import"]
        assert json.loads(entries[0].detail)["grids_total"] == 4


def test_chinese_property_names_and_village_kind_are_accepted(city):
    feats = block_features()
    for f in feats:
        p = f["properties"]
        f["properties"] = {"网格编码": p["code"], "社区名称": p["community_name"].replace("社区", "村"),
                           "网格名称": "自定义" + p["code"][-3:]}
    _import(collection(feats))
    with make_session() as s:
        g = service.get_grid(s, "320213021001002")
        assert g.name == "自定义002" and g.community_name == "春江村" and g.community_kind == "村"


FAR_AWAY = {"type": "Polygon", "coordinates": [[[119.0, 30.0], [119.01, 30.0], [119.01, 30.01], [119.0, 30.0]]]}


def _bad(feats_or_text, *, mode="replace"):
    before = _state()
    with pytest.raises(BadInput) as exc:
        _import(feats_or_text if isinstance(feats_or_text, str) else collection(feats_or_text), mode=mode)
    assert _state() == before, "nothing may be written"
    return exc.value


@pytest.mark.parametrize("mutate, index, words", [
    (lambda f: f[2]["properties"].update(code="32021302100100"), 3, "15 位数字"),
    (lambda f: f[1]["properties"].update(code=f[0]["properties"]["code"]), 2, "与第 1 个要素重复"),
    (lambda f: f[3]["properties"].update(code="310101021002002"), 4, "不是无锡市现行的区"),
    (lambda f: f[3]["properties"].update(code="320213999002002"), 4, "不是梁溪区的乡镇/街道代码"),
    (lambda f: f[0].update(geometry={"type": "Point", "coordinates": [120.3, 31.57]}), 1, "Polygon 或 MultiPolygon"),
    (lambda f: f[1].update(geometry={"type": "Polygon", "coordinates": [[[120.29, 31.57], [120.30, 31.58],
                                                                        [120.30, 31.57], [120.29, 31.58],
                                                                        [120.29, 31.57]]]}), 2, "自相交"),
    (lambda f: f[0].update(geometry={"type": "Polygon", "coordinates": [[[31.56, 120.29], [31.57, 120.29],
                                                                        [31.57, 120.30], [31.56, 120.29]]]}),
     1, "超出经纬度范围"),
    (lambda f: f[0].update(geometry=FAR_AWAY), 1, "不在编码所示的梁溪区范围内"),
    (lambda f: f[2].update(geometry=square(0, 0)), 1, "与第 3 个要素（编码 320213021002001）重叠"),
    (lambda f: f[3]["properties"].update(community_name="别的社区"), 3, "名称不一致"),
    (lambda f: f[1].update(geometry=None), 2, "缺少几何"),
    (lambda f: f[2]["properties"].pop("code"), 3, "缺少网格编码"),
], ids=["short-code", "duplicate", "other-city", "unknown-street", "point", "bowtie", "swapped-lonlat",
        "far-away", "overlap", "community-names", "no-geometry", "no-code"])
def test_bad_features_are_named_and_nothing_is_written(city, mutate, index, words):
    _import(collection(block_features()))  # an existing layer must survive a failed import untouched
    feats = copy.deepcopy(block_features())
    mutate(feats)
    err = _bad(feats)
    assert err.code == "invalid_grid_geojson"
    messages = [e["message"] for e in err.detail["errors"]]
    assert any(m.startswith(f"第 {index} 个要素") and words in m for m in messages), messages
    assert "未写入任何数据" in err.message


def test_whole_file_problems(city):
    assert _bad("{not json").code == "bad_geojson"
    assert "第 1 行" in _bad("{not json").message
    assert _bad(json.dumps({"type": "Feature"})).code == "bad_geojson"
    assert _bad(json.dumps({"type": "FeatureCollection", "features": []})).code == "empty_geojson"
    feats = block_features()
    feats[0]["properties"].pop("community_name")
    feats[1]["properties"].pop("community_name")
    err = _bad(feats)
    assert "社区 320213021001 没有名称" in err.detail["errors"][0]["message"]


def test_merge_updates_and_keeps_others_replace_drops_assignments(city):
    _import(collection(block_features()))
    with session_scope() as s:
        service.assign_worker(s, SYSTEM, "320213021002002", "grid_worker")
    # merge: rename one grid, no community name needed for an existing community
    one = {"type": "Feature", "properties": {"code": "320213021001001", "name": "改名网格"}, "geometry": square(0, 0)}
    result = _import(collection([one]), mode="merge")
    assert result.grids == 4
    with make_session() as s:
        assert service.get_grid(s, "320213021001001").name == "改名网格"
    # merge: a new grid overlapping a stored one is refused
    clash = {"type": "Feature", "properties": {"code": "320213021003001", "community_name": "新社区"},
             "geometry": square(1, 1)}
    err = _bad([clash], mode="merge")
    assert any("已有网格 320213021002002" in e["message"] for e in err.detail["errors"])
    # replace with only the west column: the east grids and their assignment go, lookups follow at once
    with make_session() as s:
        assert service.locate(s, 120.305, 31.575).grid_code == "320213021002002"
    result = _import(collection(block_features()[:2]))
    assert (result.grids, result.assignments_dropped) == (2, 1)
    with make_session() as s:
        assert service.worker_grids(s, "grid_worker") == []
        assert service.locate(s, 120.305, 31.575) is None
        assert service.locate(s, 120.295, 31.575).grid_code == "320213021001002"
        assert [c.code for c in service.communities(s)] == ["320213021001"]


def test_only_admin_imports(city):
    operator = Principal(username="operator", role="operator", via="session")
    with pytest.raises(PermissionDenied):
        _import(collection(block_features()), principal=operator)


def test_import_api_and_cli(client, tmp_path):
    from typer.testing import CliRunner

    from citybase.cli import app
    from tests.conftest import csrf_of, login

    login(client, "admin")
    token = csrf_of(client)
    bad = block_features()
    bad[1]["properties"]["code"] = "abc"
    r = client.post("/api/grid/import", content=collection(bad), headers={"X-CSRF-Token": token,
                                                                          "content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_grid_geojson"
    assert "第 2 个要素" in r.json()["error"]["detail"]["errors"][0]["message"]
    r = client.post("/api/grid/import", content=collection(block_features()),
                    headers={"X-CSRF-Token": token, "content-type": "application/json"})
    assert r.status_code == 200 and r.json()["grids"] == 4

    path = tmp_path / "bad.geojson"
    path.write_text(collection(bad), encoding="utf-8")
    out = CliRunner().invoke(app, ["grid", "import", str(path)])
    assert out.exit_code == 2 and "第 2 个要素" in out.output
    exported = tmp_path / "export.geojson"
    out = CliRunner().invoke(app, ["grid", "export", str(exported)])
    assert out.exit_code == 0
    out = CliRunner().invoke(app, ["grid", "import", str(exported)])  # an export imports back unchanged
    assert out.exit_code == 0 and "4 个网格、2 个社区/村" in out.output
    out = CliRunner().invoke(app, ["grid", "locate", "120.295", "31.565"])
    assert out.exit_code == 0 and "320213021001001" in out.output and "崇安寺街道" in out.output
    out = CliRunner().invoke(app, ["grid", "locate", "116.4", "39.9"])
    assert out.exit_code == 2 and "不在本市任何网格内" in out.output
