"""One masking policy: every field of the demo catalogue, served by every path that shows stored rows
(the lake's samples, shared data, open data, quality reports' sample rows), is masked by the same rule to the same value —
the one ``standards.masking.field_mask_kind`` decides."""

from __future__ import annotations

import glob
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import update

from citybase.catalog.models import Resource
from citybase.standards.masking import field_mask_kind, mask_value

ROWS = 40


def _raw(version: Any, limit: int = ROWS) -> list[dict[str, Any]]:
    """The first rows of a stored version, straight from its Parquet files, in stored order."""
    from citybase.lake import service as lake

    files = sorted(glob.glob(lake.parquet_glob(version)))
    out: list[dict[str, Any]] = []
    for f in files:
        out += pq.read_table(f).slice(0, limit - len(out)).to_pylist()
        if len(out) >= limit:
            break
    return out


def _expected(kind: str | None, value: Any) -> Any:
    return value if kind is None or value is None else mask_value(kind, value)


def test_every_field_is_masked_alike_on_every_serving_path(city):
    from citybase.catalog import demo as catalog_demo
    from citybase.catalog import service as catalog
    from citybase.core.identity import service as identity
    from citybase.core.identity.principal import SYSTEM
    from citybase.db import make_session, session_scope
    from citybase.exchange import service as exchange
    from citybase.lake import demo as lake_demo
    from citybase.lake import service as lake
    from citybase.opendata.service import datastore, public
    from citybase.quality import service as quality

    catalog_demo.load()
    lake_demo.load()
    with session_scope() as s:  # the enterprise register open to the public too: names, addresses, L2 fields
        s.execute(update(Resource).where(Resource.code == lake_demo.ENTERPRISES).values(open_type="无条件开放"))
    checked = {"lake": 0, "exchange": 0, "opendata": 0, "quality": 0}
    masked_kinds: set[str] = set()
    with make_session() as s:
        codes = lake.resources_with_data(s)
    assert len(codes) >= 3
    for i, code in enumerate(codes):
        with session_scope() as s:
            res = catalog.get_resource(s, code)
            officer = identity.create_user(s, SYSTEM, username=f"privacy{i}", org_code=res.provider_code,
                                           role="data_officer", password="privacy-2026-Pass")
            reader = identity.principal_for(officer, "session")
        with make_session() as s:
            version = lake.current_version(s, code)
            raw = _raw(version)
            kinds = {f.name: field_mask_kind(f) for f in res.fields}
            masked = [f for f in res.fields if kinds[f.name] and f.name in raw[0]]
            masked_kinds |= {kinds[f.name] for f in masked}
            # 1. the lake's masked sample rows (data pages and the rows API)
            cols = list(raw[0])
            shown = lake.mask_rows(res, cols, [tuple(r[c] for c in cols) for r in raw])
            for row, line in zip(raw, shown, strict=True):
                for f in masked:
                    assert line[cols.index(f.name)] == _expected(kinds[f.name], row[f.name]), (code, f.name)
                    checked["lake"] += 1
            # 2. shared data: the provider's own officer reads through the implicit grant, nothing in clear
            page, _quota = exchange.query(s, reader, code, size=ROWS)
            assert {f.name for f in masked} <= set(page.masked_fields)
            for row, item in zip(raw, page.items, strict=False):
                for f in masked:
                    assert item[f.name] == _expected(kinds[f.name], row[f.name]), (code, f.name)
                    checked["exchange"] += 1
            # 3. open data (open resources only): L3/L4 withheld, the rest masked by the public rule
            if public.is_open(res):
                store = datastore.build_store(s, res)
                records = datastore.search(store, limit=ROWS)["records"]
                for f in public.public_fields(res):
                    kind = field_mask_kind(f, public=True)
                    if kind is None or f.name not in raw[0]:
                        continue
                    for row, rec in zip(raw, records, strict=False):
                        assert rec[f.name] == _expected(kind, row[f.name]), (code, f.name)
                        checked["opendata"] += 1
                assert not {f.name for f in public.withheld_fields(res)} & set(records[0])
            # 4. quality reports: the failing rows' samples (row numbers from 1, in stored order)
            report = quality.latest_report(s, code)
            every = _raw(version, limit=version.row_count)
            for result in report.results if report else []:
                for sample in result["result"].get("partial_unexpected_rows", []):
                    row = every[sample["row"] - 1]
                    for f in masked:
                        if f.name in sample["values"]:
                            assert sample["values"][f.name] == _expected(kinds[f.name], row[f.name]), (code, f.name)
                            checked["quality"] += 1
    assert min(checked.values()) > 0, checked
    assert {"cn_id_card", "mobile", "name"} <= masked_kinds, masked_kinds


def test_work_orders_mask_reporters_by_the_same_rules():
    from citybase.events import service as events

    for name in ("张三丰", "欧阳娜娜", "李"):
        assert events.mask_name(name) == mask_value("name", name)
    for phone in ("13812345678", "+86 138 1234 5678", "0510-88886666", "12345"):
        assert events.mask_phone(phone) == mask_value("mobile", phone)
    assert events.mask_name(None) == "" and events.mask_phone("") == ""
