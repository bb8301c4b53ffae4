"""The demo as a citizen meets it: every dataset the portal lists has data, readable CSV and all
five base libraries filled (the IoT summaries are covered by the IoT tests; its demo is slow)."""

from __future__ import annotations

import csv
import io


def test_every_listed_dataset_downloads_with_chinese_headers_and_rows(client):
    from citybase.baselib import demo as baselib_demo
    from citybase.baselib import service as baselib
    from citybase.catalog import demo as catalog_demo
    from citybase.db import make_session
    from citybase.grid import demo as grid_demo
    from citybase.lake import demo as lake_demo
    from citybase.opendata import demo as opendata_demo
    from citybase.opendata.service.public import OPEN, listed_resources

    for mod in (catalog_demo, lake_demo, baselib_demo, opendata_demo, grid_demo):  # grid: the standard addresses
        mod.load()
    with make_session() as s:
        listed = listed_resources(s)
        sizes = {key: (baselib.last_build(s, key).row_count if baselib.last_build(s, key) else 0)
                 for key in ("population", "legal_person", "geo", "credit", "licence")}
    assert all(n > 0 for n in sizes.values()), sizes
    open_ones = [r for r in listed if r.open_type == OPEN]
    assert len(open_ones) >= 9
    for r in open_ones:
        got = client.get(f"/open/datasets/{r.code}/download.csv")
        assert got.status_code == 200, (r.code, got.text[:200])
        rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
        labels = {f.name: f.label for f in r.fields}
        assert rows[0] and all(h in labels.values() for h in rows[0]), (r.code, rows[0])
        assert len(rows) >= 2, r.code
        assert not {"True", "False"} & {cell for row in rows[1:] for cell in row}, r.code
    found = client.get("/api/3/action/package_search", params={"q": "人口"}).json()["result"]
    assert "316002-0001" in [p["name"] for p in found["results"]]
    stats = client.get("/open/datasets/316002-0001/download.csv").content.decode("utf-8-sig")
    assert "户籍人口（人）" in stats.splitlines()[0] and len(stats.splitlines()) >= 5
    titles = [i["display_name"] for i in client.get("/api/3/action/package_search", params={
        "facet.field": '["groups"]', "rows": 0}).json()["result"]["search_facets"]["groups"]["items"]]
    assert len(titles) == len(set(titles)), titles  # one entry per topic name


def test_public_comments_are_signed_with_a_masked_name_not_a_username(client):
    from citybase.catalog import demo as catalog_demo
    from citybase.lake import demo as lake_demo
    from citybase.opendata import demo as opendata_demo

    for mod in (catalog_demo, lake_demo, opendata_demo):
        mod.load()
    pages = [client.get(f"/open/datasets/{code}").text for code in ("310001-0001", "312001-0001", "202001-0001")]
    text = " ".join(pages)
    assert "王*（无锡市公安局）" in text
    assert not any(u in text for u in ("gaj_staff", "scjgj_officer", "dsj_officer", "王芳"))
