"""The connection pool: a connection that died while idle in the pool is replaced before use, and a
connection in steady use is not pinged (db._ping_when_idle)."""

from __future__ import annotations

import time

from sqlalchemy import create_engine, select, text
from sqlalchemy.pool import NullPool


def _break(engine, raw) -> None:  # noqa: ANN001
    """The server side of ``raw`` goes away (PostgreSQL: the backend is terminated)."""
    if engine.dialect.name == "postgresql":
        other = create_engine(engine.url, poolclass=NullPool)  # not from the pool under test
        with other.connect() as c:
            assert c.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": raw.info.backend_pid}).scalar()
        other.dispose()
    else:
        raw.close()


def test_connection_lost_while_idle_is_replaced_and_busy_ones_are_not_pinged(db_home, monkeypatch):
    from citybase import db

    db.dispose_engines()
    engine = db.get_engine()
    pings = []
    real_ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda c: (pings.append(c), real_ping(c))[1])

    for _ in range(20):  # steady use: no ping
        with db.session_scope() as s:
            raw = s.connection().connection.dbapi_connection
            assert s.execute(text("SELECT 1")).scalar_one() == 1
    assert pings == []

    monkeypatch.setattr(db, "PING_AFTER_IDLE", 0.05)
    engine.pool.dispose()  # one pooled connection, and it is the one broken below
    with db.session_scope() as s:
        raw = s.connection().connection.dbapi_connection
    _break(engine, raw)
    time.sleep(0.1)
    with db.session_scope() as s:  # pinged, found dead, replaced: the caller sees nothing
        assert s.connection().connection.dbapi_connection is not raw
        assert s.execute(text("SELECT 2")).scalar_one() == 2
    assert raw in pings


def test_json_stored_as_text_by_earlier_versions_reads_back_after_the_migration(city):
    """The JSON columns that earlier versions kept as TEXT (catalog, exchange, iot …) are migrated to the
    one JSON type without losing a value, and back again."""
    from alembic import command

    from citybase import db
    from citybase.catalog.models import Resource
    from citybase.iot.models import JobState

    cfg = db.alembic_config()
    command.downgrade(cfg, "catalog_0001")
    command.downgrade(cfg, "iot_0001")
    with db.session_scope() as s:  # rows as the earlier versions wrote them
        s.execute(text(
            "INSERT INTO catalog_resource (code, class_code, class_name, name, summary, provider_code, format, "
            "catalog_type, share_type, share_condition, share_method, share_basis, open_type, open_condition, "
            "update_cycle, related_codes, keywords, status, review_comment, created_by, created_at, updated_at, rev, "
            "search_terms) VALUES ('101001-0009', '101001', '', '旧资源', '', '320200-gaj', '数据库表', '部门目录', "
            "'无条件共享', '', '', '', '不予开放', '', '每日', :related, :keywords, 'draft', '', "
            "'old', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 0, :terms)"),
            {"related": '["101001-0001"]', "keywords": '["户籍","人口"]', "terms": '{"w":{"户籍":8}}'})
        s.execute(text("INSERT INTO iot_job_state (key, value) VALUES ('cursor', :v)"), {"v": '{"ts":1733600000000}'})
    command.upgrade(cfg, "heads")
    db.dispose_engines()
    with db.make_session() as s:
        res = s.execute(select(Resource).where(Resource.code == "101001-0009")).scalar_one()
        assert res.related_codes == ["101001-0001"] and res.keywords == ["户籍", "人口"]
        assert res.search_terms == {"w": {"户籍": 8}}
        assert s.get(JobState, "cursor").value == {"ts": 1733600000000}
    command.downgrade(cfg, "catalog_0001")
    with db.make_session() as s:
        assert s.execute(text("SELECT keywords FROM catalog_resource WHERE code = '101001-0009'")).scalar_one() \
            == '["户籍","人口"]'  # exactly the text it was
    command.upgrade(cfg, "heads")
