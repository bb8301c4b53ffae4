"""Engine, session factory, declarative Base and the migration runner."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, Table, create_engine, event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from citybase.config import get_settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both SQLite and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def is_postgres(session: Session) -> bool:
    """Whether ``session`` talks to PostgreSQL (the production database) rather than SQLite."""
    return session.get_bind().dialect.name == "postgresql"


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _rec):  # pragma: no cover - exercised by every test
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover
        # Writers take the write lock up front so two writers never fork the audit chain
        # and never fail with a stale snapshot.
        mode = "BEGIN IMMEDIATE" if conn.get_execution_options().get("cb_write") else "BEGIN"
        conn.exec_driver_sql(mode)


_ENGINES: dict[str, Engine] = {}


def get_engine() -> Engine:
    url = get_settings().db_url
    engine = _ENGINES.get(url)
    if engine is None:
        if url.startswith("sqlite"):
            # as many pooled connections as the web thread pool has threads: an overflow connection
            # is opened and closed per checkout, and opening one runs the PRAGMAs below
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                                   pool_size=20, max_overflow=20, json_serializer=json_text)
            _sqlite_setup(engine)
        else:
            engine = create_engine(url, pool_size=10, max_overflow=20, json_serializer=json_text)
        _ping_when_idle(engine)
        _ENGINES[url] = engine
    return engine


def json_text(value: Any) -> str:
    """How JSON columns are written: readable Chinese, compact, and dates/decimals as text."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


# A pooled connection that has been idle this long is pinged before use (see _ping_when_idle).
PING_AFTER_IDLE = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling, but only for connections idle PING_AFTER_IDLE seconds or more:
    ``pool_pre_ping`` pinged on every checkout, a round trip and ~0.2 ms of CPU per transaction (an
    intake batch is about ten round trips). A connection in steady use is not pinged; if the server
    went away within the last second, that use fails once, SQLAlchemy invalidates the whole pool
    and the next checkout connects afresh."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info["cb_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("cb_idle_since", None)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # noqa: BLE001 - any failure: the pool replaces the connection
            raise DisconnectionError() from exc


def dispose_engines() -> None:
    """Close every pooled connection (tests and forked workers call this)."""
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()


def make_session(write: bool = False) -> Session:
    engine = get_engine()
    bind = engine.execution_options(cb_write=True) if write else engine
    return Session(bind=bind, expire_on_commit=False)


@contextmanager
def session_scope(write: bool = True) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = make_session(write=write)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def clear_now_and_after_commit(session: Session, cache: dict[Any, Any]) -> None:
    """Empty a process-local cache of data ``session`` is changing: now, so that this transaction
    reads afresh, and again once it commits, so that no read made meanwhile outlives the change."""
    cache.clear()
    event.listen(session, "after_commit", lambda _s: cache.clear(), once=True)


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """``count`` fresh values of ``table``'s integer primary key, before inserting: rows whose ids are
    known up front go in as one bulk insert (:func:`insert_rows`), with no RETURNING and no UPDATE.
    PostgreSQL draws them from the column's sequence (never handed out twice). SQLite continues
    after the largest id; that is safe because a write session holds the database's write lock from
    its BEGIN IMMEDIATE to its commit, so call this only inside :func:`session_scope` (a writer) and
    insert the rows before that transaction ends."""
    if count <= 0:
        return []
    (pk,) = table.primary_key.columns
    if is_postgres(session):
        rows = session.execute(text("SELECT nextval(pg_get_serial_sequence(:t, :c)) FROM generate_series(1, :n)"),
                               {"t": table.name, "c": pk.name, "n": count})
        return [r[0] for r in rows]
    top = session.execute(text(f'SELECT coalesce(max("{pk.name}"), 0) FROM "{table.name}"')).scalar_one()
    return list(range(top + 1, top + 1 + count))


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows whose generated values nobody reads back, in the session's transaction.
    Every row has the same keys. See :func:`insert_many`."""
    insert_many(session, [(table, rows)])


def insert_many(session: Session, batches: list[tuple[Table, list[dict[str, Any]]]]) -> None:
    """Insert rows into several tables at once (in the given order; rows of one table share their
    keys), in the session's transaction, reading nothing back.

    PostgreSQL: one statement and one round trip for all of them. Each table's rows travel as one
    JSON array (orjson) that ``json_populate_recordset`` turns into rows of the table's own type,
    chained as data-modifying CTEs; foreign keys between them are checked at the end of the
    statement. Where an executemany cost ~25 µs a row in the driver and COPY two round trips a table
    plus a Python call per value, this costs a few µs a row. Datetimes must be timezone-aware and are
    stored as UTC (a naive one is refused and nothing is written); JSON columns take the value itself.
    SQLite: one executemany per table."""
    batches = [(t, r) for t, r in batches if r]
    if not batches:
        return
    session.flush()  # rows pending in the session go first (the new rows may refer to them)
    if not is_postgres(session):
        for table, rows in batches:
            session.execute(table.insert().inline(), rows)
        return
    import orjson

    dialect = session.get_bind().dialect
    parts, params = [], []
    for table, rows in batches:
        cols = list(rows[0])
        other = {c: table.c[c].type for c in cols
                 if isinstance(table.c[c].type, TypeDecorator) and not isinstance(table.c[c].type, UTCDateTime)}
        if other:  # a type with its own bind processing (UTCDateTime is done by _json_value)
            rows = [{**r, **{c: t.process_bind_param(r[c], dialect) for c, t in other.items()}} for r in rows]
        names = ", ".join(f'"{c}"' for c in cols)
        parts.append(f'INSERT INTO "{table.name}" ({names}) SELECT {names} '
                     f'FROM json_populate_recordset(NULL::"{table.name}", %s::json)')
        try:
            params.append(orjson.dumps(rows, default=_json_value, option=orjson.OPT_PASSTHROUGH_DATETIME).decode())
        except orjson.JSONEncodeError as exc:  # the reason (a naive datetime…), not orjson's wrapper
            raise (exc.__cause__ or exc) from None
    *ctes, last = parts
    sql = ("WITH " + ", ".join(f"_{i} AS ({p})" for i, p in enumerate(ctes)) + " " if ctes else "") + last
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cur:
        cur.execute(sql, params)


def _json_value(value: Any) -> str:
    """Datetimes and dates for :func:`insert_many`: aware datetimes as UTC, naive ones refused."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime: store timezone-aware UTC")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot insert {type(value).__name__} in bulk")


SessionFactory = sessionmaker  # re-exported for typing convenience

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config():
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", get_settings().db_url.replace("%", "%%"))
    return cfg


def _migrations_dir() -> Path:
    packaged = Path(__file__).resolve().parent / "migrations"
    return packaged if packaged.exists() else MIGRATIONS_DIR


def migrate() -> None:
    """Bring the database to the newest schema (all module branches)."""
    from alembic import command

    command.upgrade(alembic_config(), "heads")


def text_columns_to_json(columns: dict[str, dict[str, str | None]], *, back: bool = False) -> None:
    """For a migration: turn TEXT columns holding JSON into the platform's one JSON type (``sqlalchemy.JSON``).

    ``columns`` maps table → {column: the JSON an empty or missing value becomes ("[]" or "{}"; None
    for a nullable column, where they become NULL).
    PostgreSQL gets ``json`` columns (any column default is dropped and set again as JSON); SQLite
    needs nothing, its JSON is TEXT. ``back=True`` undoes it."""
    from alembic import op

    if op.get_bind().dialect.name != "postgresql":
        return
    for table, cols in columns.items():
        for col, empty in cols.items():
            default = op.get_bind().execute(text(
                "SELECT column_default FROM information_schema.columns WHERE table_name = :t AND column_name = :c"),
                {"t": table, "c": col}).scalar()
            value = f"NULLIF(\"{col}\", '')" if empty is None else f"COALESCE(NULLIF(\"{col}\", ''), '{empty}')"
            kind, using = ("text", f'"{col}"::text') if back else ("json", f"{value}::json")
            op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{col}" DROP DEFAULT')
            op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{col}" TYPE {kind} USING {using}')
            if default is not None and empty is not None:
                op.execute(f"ALTER TABLE \"{table}\" ALTER COLUMN \"{col}\" SET DEFAULT '{empty}'::{kind}")
