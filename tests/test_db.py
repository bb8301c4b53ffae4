"""The connection pool: a connection that died while idle in the pool is replaced before use, and a
connection in steady use is not pinged (db._ping_when_idle)."""

from __future__ import annotations

import time

from sqlalchemy import create_engine, text
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
