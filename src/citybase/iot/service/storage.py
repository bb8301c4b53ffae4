"""Time-series storage: monthly partitions (PostgreSQL), bulk insert, roll-ups, retention with Parquet
archive, and queries that span the database and the archive (DuckDB)."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from citybase.core.errors import BadInput
from citybase.db import get_engine, is_postgres
from citybase.iot.service.common import lake_root, now_ms
from citybase.lake import duck

HOUR_MS = 3_600_000
MINUTE_MS = 60_000
DAY_MS = 86_400_000
TZ_OFFSET_MS = 8 * HOUR_MS  # day roll-ups follow the Asia/Shanghai calendar day (no DST)
GRAINS = {"minute": MINUTE_MS, "hour": HOUR_MS, "day": DAY_MS}
AGGS = ("avg", "min", "max", "count", "last", "sum")


# ---------------------------------------------------------------- partitions

_part_lock = threading.Lock()
_known: dict[str, set[int]] = {}  # db url -> month starts (ms) that have a partition


def _month_start(ms: int) -> datetime:
    d = datetime.fromtimestamp(ms / 1000, UTC)
    return datetime(d.year, d.month, 1, tzinfo=UTC)


def _next_month(d: datetime) -> datetime:
    return datetime(d.year + (d.month == 12), d.month % 12 + 1, 1, tzinfo=UTC)


def _partition_name(d: datetime) -> str:
    return f"iot_reading_p{d.year:04d}{d.month:02d}"


def existing_partitions(session: Session) -> list[str]:
    if not is_postgres(session):
        return []
    return list(session.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'iot_reading' ORDER BY 1")).scalars())


def ensure_partitions(session: Session, stamps: set[int] | list[int]) -> None:
    """Create the monthly partitions the given timestamps need (PostgreSQL; no-op on SQLite).

    Partitions are created on a separate autocommitted connection before the caller's transaction
    touches ``iot_reading`` (creating a partition locks the parent exclusively)."""
    if not stamps or not is_postgres(session):
        return
    url = str(session.get_bind().url)
    known = _known.get(url)
    if known is None:
        known = set()
        for name in existing_partitions(session):
            y, m = int(name[-6:-2]), int(name[-2:])
            known.add(int(datetime(y, m, 1, tzinfo=UTC).timestamp() * 1000))
        _known[url] = known
    lo, hi = min(stamps), max(stamps)
    months = []
    d = _month_start(lo)
    while d.timestamp() * 1000 <= hi:
        months.append(d)
        d = _next_month(d)
    missing = [m for m in months if int(m.timestamp() * 1000) not in known]
    if not missing:
        return
    with _part_lock, get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("SET lock_timeout = '15s'")
        conn.exec_driver_sql("SELECT pg_advisory_lock(7340001)")
        try:
            for m in missing:
                a, b = int(m.timestamp() * 1000), int(_next_month(m).timestamp() * 1000)
                conn.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {_partition_name(m)} PARTITION OF iot_reading "
                                     f"FOR VALUES FROM ({a}) TO ({b})")
                known.add(a)
        finally:
            conn.exec_driver_sql("SELECT pg_advisory_unlock(7340001)")


def forget_partitions() -> None:
    _known.clear()


def insert_readings(session: Session, rows: list[tuple[int, str, int, float, int]]) -> int:
    """Bulk insert, ignoring (device, quantity, ts) already stored. Returns rows actually inserted."""
    if not rows:
        return 0
    raw = session.connection().connection
    cur = raw.cursor()
    try:
        if is_postgres(session):
            d, q, t, v, f = (list(c) for c in zip(*rows, strict=True))
            cur.execute("INSERT INTO iot_reading (device_id, quantity, ts, value, flag) "
                        "SELECT * FROM unnest(%b::int4[], %b::varchar[], %b::int8[], %b::float8[], %b::int2[]) "
                        "ON CONFLICT DO NOTHING", (d, q, t, v, f))
        else:
            cur.executemany("INSERT OR IGNORE INTO iot_reading (device_id, quantity, ts, value, flag) "
                            "VALUES (?, ?, ?, ?, ?)", rows)
        return cur.rowcount
    finally:
        cur.close()


SQLITE_CHUNK = 6000  # rows per multi-row INSERT (5 parameters each, under SQLite's 32766 limit)


def insert_new(session: Session, rows: list[tuple[int, str, int, float, int]]) -> list[tuple[int, str, int, float, int]]:
    """Bulk insert ignoring duplicates; returns exactly the rows that were new (RETURNING)."""
    if not rows:
        return []
    raw = session.connection().connection
    cur = raw.cursor()
    keys: list[tuple] = []
    try:
        if is_postgres(session):
            d, q, t, v, f = (list(c) for c in zip(*rows, strict=True))
            cur.execute("INSERT INTO iot_reading (device_id, quantity, ts, value, flag) "
                        "SELECT * FROM unnest(%b::int4[], %b::varchar[], %b::int8[], %b::float8[], %b::int2[]) "
                        "ON CONFLICT DO NOTHING RETURNING device_id, quantity, ts", (d, q, t, v, f))
            keys = cur.fetchall()
        else:
            for i in range(0, len(rows), SQLITE_CHUNK):
                chunk = rows[i:i + SQLITE_CHUNK]
                marks = ",".join(["(?,?,?,?,?)"] * len(chunk))
                cur.execute(f"INSERT INTO iot_reading (device_id, quantity, ts, value, flag) VALUES {marks} "
                            "ON CONFLICT DO NOTHING RETURNING device_id, quantity, ts",
                            [x for r in chunk for x in r])
                keys += cur.fetchall()
    finally:
        cur.close()
    if len(keys) == len(rows):
        return rows
    new = {tuple(k) for k in keys}
    return [r for r in rows if (r[0], r[1], r[2]) in new]


def latest_context(session: Session, device_ids: list[int]) -> dict[int, dict[str, list]]:
    """Last good value of every quantity of these devices: {device: {quantity: [ts, value, None]}}."""
    out: dict[int, dict[str, list]] = defaultdict(dict)
    for i in range(0, len(device_ids), 900):
        chunk = ",".join(str(int(x)) for x in device_ids[i:i + 900])
        for d, q, ts, v in session.execute(text(
                f"SELECT device_id, quantity, ts, value FROM iot_latest WHERE flag = 0 AND device_id IN ({chunk})")).all():
            out[d][q] = [ts, v, None]
    return out


# ---------------------------------------------------------------- roll-ups

def _day_bucket(ts: int) -> int:
    return (ts + TZ_OFFSET_MS) // DAY_MS * DAY_MS - TZ_OFFSET_MS


def _agg_rows(rows: list[tuple[str, int, float]], width_fn) -> dict[tuple[str, int], list]:
    """rows sorted by ts → {(quantity, bucket): [n, total, min, max, last, last_ts]}"""
    out: dict[tuple[str, int], list] = {}
    for q, ts, v in rows:
        k = (q, width_fn(ts))
        a = out.get(k)
        if a is None:
            out[k] = [1, v, v, v, v, ts]
        else:
            a[0] += 1
            a[1] += v
            if v < a[2]:
                a[2] = v
            if v > a[3]:
                a[3] = v
            if ts >= a[5]:
                a[4], a[5] = v, ts
    return out


def run_rollups(session: Session, device_id: int | None = None, limit: int = 20000) -> int:
    """Recompute minute/hour/day roll-ups of dirty (device, hour) buckets. Returns buckets done."""
    where = "WHERE device_id = :d" if device_id is not None else ""
    dirty = session.execute(text(f"SELECT device_id, hour_ms FROM iot_dirty {where} "
                                 "ORDER BY device_id, hour_ms LIMIT :n"), {"d": device_id, "n": limit}).all()
    if not dirty:
        return 0
    session.execute(text("DELETE FROM iot_dirty WHERE device_id = :d AND hour_ms = :h"),
                    [{"d": d, "h": h} for d, h in dirty])
    by_dev: dict[int, list[int]] = defaultdict(list)
    for d, h in dirty:
        by_dev[d].append(h)
    ins = []
    for dev, hours in by_dev.items():
        hours.sort()
        hset = set(hours)
        # contiguous runs keep the raw scan tight
        runs, start, prev = [], hours[0], hours[0]
        for h in hours[1:]:
            if h != prev + HOUR_MS:
                runs.append((start, prev + HOUR_MS))
                start = h
            prev = h
        runs.append((start, prev + HOUR_MS))
        raw_rows: list[tuple[str, int, float]] = []
        for a, b in runs:
            raw_rows += session.execute(text(
                "SELECT quantity, ts, value FROM iot_reading WHERE device_id = :d AND ts >= :a AND ts < :b "
                "AND flag = 0 ORDER BY ts"), {"d": dev, "a": a, "b": b}).all()
        for a, b in runs:
            session.execute(text("DELETE FROM iot_rollup WHERE device_id = :d AND grain IN ('minute', 'hour') "
                                 "AND bucket >= :a AND bucket < :b"), {"d": dev, "a": a, "b": b})
        minute = _agg_rows(raw_rows, lambda t: t - t % MINUTE_MS)
        hour = _agg_rows(raw_rows, lambda t: t - t % HOUR_MS)
        for grain, agg in (("minute", minute), ("hour", hour)):
            for (q, bucket), (n, tot, mn, mx, last, lts) in agg.items():
                if grain == "hour" and bucket not in hset:
                    continue
                ins.append({"d": dev, "q": q, "g": grain, "b": bucket, "n": n, "t": tot, "mn": mn, "mx": mx,
                            "l": last, "lt": lts})
        # days touched: recompute from the hour roll-ups after they are written
        days = sorted({_day_bucket(h) for h in hours})
        by_dev[dev] = days  # reuse the slot for the day pass
    insert_rollups(session, [(r["d"], r["q"], r["g"], r["b"], r["n"], r["t"], r["mn"], r["mx"], r["l"], r["lt"])
                             for r in ins])
    day_ins = []
    for dev, days in by_dev.items():
        for day in days:
            session.execute(text("DELETE FROM iot_rollup WHERE device_id = :d AND grain = 'day' AND bucket = :b"),
                            {"d": dev, "b": day})
            hrs = session.execute(text(
                "SELECT quantity, n, total, vmin, vmax, vlast, last_ts FROM iot_rollup WHERE device_id = :d "
                "AND grain = 'hour' AND bucket >= :a AND bucket < :b"), {"d": dev, "a": day, "b": day + DAY_MS}).all()
            acc: dict[str, list] = {}
            for q, n, tot, mn, mx, last, lts in hrs:
                a = acc.get(q)
                if a is None:
                    acc[q] = [n, tot, mn, mx, last, lts]
                else:
                    a[0] += n
                    a[1] += tot
                    a[2], a[3] = min(a[2], mn), max(a[3], mx)
                    if lts >= a[5]:
                        a[4], a[5] = last, lts
            for q, (n, tot, mn, mx, last, lts) in acc.items():
                day_ins.append({"d": dev, "q": q, "g": "day", "b": day, "n": n, "t": tot, "mn": mn, "mx": mx,
                                "l": last, "lt": lts})
    insert_rollups(session, [(r["d"], r["q"], r["g"], r["b"], r["n"], r["t"], r["mn"], r["mx"], r["l"], r["lt"])
                             for r in day_ins])
    return len(dirty)


def rollup_all(session_factory, device_id: int | None = None) -> int:
    """Drain the dirty queue in chunks, one transaction each."""
    total = 0
    while True:
        with session_factory() as s:
            n = run_rollups(s, device_id)
        total += n
        if n == 0:
            return total


# ---------------------------------------------------------------- queries

def latest(session: Session, device_id: int) -> dict[str, dict[str, Any]]:
    rows = session.execute(text("SELECT quantity, ts, value, flag FROM iot_latest WHERE device_id = :d"),
                           {"d": device_id}).all()
    return {q: {"ts": ts, "value": v, "flag": f} for q, ts, v, f in rows}


def latest_many(session: Session, device_ids: list[int]) -> dict[int, dict[str, dict[str, Any]]]:
    out: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    for i in range(0, len(device_ids), 900):
        chunk = device_ids[i:i + 900]
        if not chunk:
            continue
        marks = ",".join(str(int(x)) for x in chunk)
        for d, q, ts, v, f in session.execute(text(
                f"SELECT device_id, quantity, ts, value, flag FROM iot_latest WHERE device_id IN ({marks})")):
            out[d][q] = {"ts": ts, "value": v, "flag": f}
    return out


def _point(bucket: int, n: int, total: float, mn: float, mx: float, last: float) -> dict[str, Any]:
    return {"ts": bucket, "avg": total / n if n else None, "min": mn, "max": mx, "count": n, "last": last,
            "sum": total}


def series(session: Session, device_id: int, quantity: str, start_ms: int, end_ms: int,
           interval: str = "hour", refresh: bool = True) -> list[dict[str, Any]]:
    """Aggregated points [start, end) per interval: 'raw', 'minute', 'hour', 'day' or seconds ('300').

    hour/day read the roll-ups (refreshed for this device first); finer intervals read raw readings
    from the database and, for archived periods, from the Parquet archive through DuckDB."""
    if end_ms <= start_ms:
        raise BadInput("结束时间必须晚于开始时间", code="bad_range")
    if interval in ("hour", "day"):
        if refresh:
            run_rollups(session, device_id)
        rows = session.execute(text(
            "SELECT bucket, n, total, vmin, vmax, vlast FROM iot_rollup WHERE device_id = :d AND quantity = :q "
            "AND grain = :g AND bucket >= :a AND bucket < :b ORDER BY bucket"),
            {"d": device_id, "q": quantity, "g": interval, "a": _floor(start_ms, interval), "b": end_ms}).all()
        return [_point(*r) for r in rows]
    if interval == "raw":
        rows = raw_readings(session, device_id, quantity, start_ms, end_ms)
        return [{"ts": ts, "value": v, "flag": f} for ts, v, f in rows]
    width = MINUTE_MS if interval == "minute" else _seconds(interval) * 1000
    if (end_ms - start_ms) // width > 100_000:
        raise BadInput("时间范围内的点数过多，请加大聚合间隔", code="too_many_points")
    rows = [(quantity, ts, v) for ts, v, f in raw_readings(session, device_id, quantity, start_ms, end_ms) if f == 0]
    agg = _agg_rows(rows, lambda t: t - t % width)
    return [_point(b, a[0], a[1], a[2], a[3], a[4]) for (_, b), a in sorted(agg.items(), key=lambda x: x[0][1])]


def _floor(ms: int, grain: str) -> int:
    return _day_bucket(ms) if grain == "day" else ms - ms % GRAINS[grain]


def _seconds(interval: str) -> int:
    try:
        n = int(interval)
    except ValueError as exc:
        raise BadInput("聚合间隔应为 raw/minute/hour/day 或秒数", code="bad_interval") from exc
    if n < 1:
        raise BadInput("聚合间隔应为正数", code="bad_interval")
    return n


def raw_readings(session: Session, device_id: int, quantity: str, start_ms: int, end_ms: int
                 ) -> list[tuple[int, float, int]]:
    """Raw readings from the archive (Parquet, via DuckDB) and the database, in time order."""
    archived: list[tuple[int, float, int]] = []
    files = session.execute(text(
        "SELECT a.path FROM iot_archive a JOIN iot_device d ON d.profile_id = a.profile_id "
        "WHERE d.id = :d AND a.from_ms < :b AND a.to_ms > :a"), {"d": device_id, "a": start_ms, "b": end_ms}
    ).scalars().all()
    files = [f for f in files if Path(f).exists()]
    if files:
        con = duck.connect(macros=False)
        try:
            archived = con.execute(
                "SELECT ts, value, flag FROM read_parquet(?) WHERE device_id = ? AND quantity = ? "
                "AND ts >= ? AND ts < ? ORDER BY ts", [files, device_id, quantity, start_ms, end_ms]).fetchall()
        finally:
            con.close()
    live = session.execute(text(
        "SELECT ts, value, flag FROM iot_reading WHERE device_id = :d AND quantity = :q AND ts >= :a AND ts < :b "
        "ORDER BY ts"), {"d": device_id, "q": quantity, "a": start_ms, "b": end_ms}).all()
    if not archived:
        return [tuple(r) for r in live]
    merged = {r[0]: tuple(r) for r in archived}
    merged.update({r[0]: tuple(r) for r in live})
    return [merged[k] for k in sorted(merged)]


def area_latest(session: Session, quantity: str, *, district_code: str | None = None,
                street_code: str | None = None, grid_code: str | None = None) -> dict[str, Any]:
    """The latest value of one quantity on every device in a district/street/grid, with a summary."""
    cond, params = ["l.quantity = :q", "l.flag = 0"], {"q": quantity}
    for col, val in (("district_code", district_code), ("street_code", street_code), ("grid_code", grid_code)):
        if val:
            cond.append(f"d.{col} = :{col}")
            params[col] = val
    rows = session.execute(text(
        "SELECT d.code, d.name, d.lon, d.lat, l.ts, l.value FROM iot_latest l JOIN iot_device d ON d.id = l.device_id "
        f"WHERE {' AND '.join(cond)} ORDER BY d.code"), params).all()
    values = [r[5] for r in rows]
    summary = {"count": len(values), "avg": sum(values) / len(values) if values else None,
               "min": min(values) if values else None, "max": max(values) if values else None}
    return {"quantity": quantity, "summary": summary,
            "devices": [{"code": c, "name": n, "lon": x, "lat": y, "ts": t, "value": v} for c, n, x, y, t, v in rows]}


def area_series(session: Session, quantity: str, start_ms: int, end_ms: int, grain: str = "hour", *,
                district_code: str | None = None, street_code: str | None = None,
                grid_code: str | None = None, refresh: bool = True) -> list[dict[str, Any]]:
    """Average/min/max over every device of an area per hour or day (from the roll-ups)."""
    if grain not in ("hour", "day"):
        raise BadInput("区域汇总只支持 hour 或 day", code="bad_interval")
    if refresh:
        for _ in range(10):  # bring pending roll-ups up to date first (bounded work per request)
            if run_rollups(session) == 0:
                break
    cond, params = ["r.quantity = :q", "r.grain = :g", "r.bucket >= :a", "r.bucket < :b"], \
        {"q": quantity, "g": grain, "a": _floor(start_ms, grain), "b": end_ms}
    for col, val in (("district_code", district_code), ("street_code", street_code), ("grid_code", grid_code)):
        if val:
            cond.append(f"d.{col} = :{col}")
            params[col] = val
    rows = session.execute(text(
        "SELECT r.bucket, sum(r.n), sum(r.total), min(r.vmin), max(r.vmax), count(DISTINCT r.device_id) "
        f"FROM iot_rollup r JOIN iot_device d ON d.id = r.device_id WHERE {' AND '.join(cond)} "
        "GROUP BY r.bucket ORDER BY r.bucket"), params).all()
    return [{"ts": b, "avg": t / n if n else None, "min": mn, "max": mx, "count": int(n), "devices": int(k)}
            for b, n, t, mn, mx, k in rows]


# ---------------------------------------------------------------- retention and archive

def archive_expired(session: Session, now: int | None = None) -> list[dict[str, Any]]:
    """Move raw readings past each profile's retention to Parquet under CITYBASE_HOME/lake/iot, delete
    them from the database (dropping emptied PostgreSQL partitions), and expire old roll-ups."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    now = now if now is not None else now_ms()
    done = []
    profiles = session.execute(text("SELECT id, name, raw_retention_days, agg_retention_days FROM iot_profile")).all()
    for pid, name, raw_days, agg_days in profiles:
        cutoff = now - raw_days * DAY_MS
        rows = session.execute(text(
            "SELECT r.device_id, r.quantity, r.ts, r.value, r.flag FROM iot_reading r "
            "JOIN iot_device d ON d.id = r.device_id WHERE d.profile_id = :p AND r.ts < :c ORDER BY r.ts"),
            {"p": pid, "c": cutoff}).all()
        if rows:
            cols = list(zip(*rows, strict=True))
            table = pa.table({"device_id": pa.array(cols[0], pa.int32()), "quantity": pa.array(cols[1], pa.string()),
                              "ts": pa.array(cols[2], pa.int64()), "value": pa.array(cols[3], pa.float64()),
                              "flag": pa.array(cols[4], pa.int16())})
            lo, hi = int(cols[2][0]), int(cols[2][-1]) + 1
            folder = lake_root() / "raw" / f"profile={name}"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{lo}_{hi}_{now}.parquet"
            tmp = path.with_suffix(".tmp")
            pq.write_table(table, tmp, compression="zstd")
            tmp.replace(path)
            session.execute(text(
                "DELETE FROM iot_reading WHERE ts < :c AND device_id IN (SELECT id FROM iot_device WHERE profile_id = :p)"),
                {"p": pid, "c": cutoff})
            session.execute(text("INSERT INTO iot_archive (profile_id, from_ms, to_ms, path, rows, created_at) "
                                 "VALUES (:p, :a, :b, :path, :n, :t)"),
                            {"p": pid, "a": lo, "b": hi, "path": str(path), "n": len(rows),
                             "t": datetime.now(UTC)})
            done.append({"profile": name, "rows": len(rows), "path": str(path)})
        session.execute(text(
            "DELETE FROM iot_rollup WHERE grain = 'minute' AND bucket < :c "
            "AND device_id IN (SELECT id FROM iot_device WHERE profile_id = :p)"), {"p": pid, "c": cutoff})
        session.execute(text(
            "DELETE FROM iot_rollup WHERE bucket < :c AND device_id IN (SELECT id FROM iot_device WHERE profile_id = :p)"),
            {"p": pid, "c": now - agg_days * DAY_MS})
    return done


def drop_empty_partitions(session: Session, now: int | None = None) -> list[str]:
    """Drop PostgreSQL partitions entirely in the past that archiving has emptied."""
    if not is_postgres(session):
        return []
    now = now if now is not None else now_ms()
    current = _month_start(now)
    dropped = []
    for name in existing_partitions(session):
        y, m = int(name[-6:-2]), int(name[-2:])
        if datetime(y, m, 1, tzinfo=UTC) >= current:
            continue
        if session.execute(text(f"SELECT 1 FROM {name} LIMIT 1")).first() is None:
            dropped.append(name)
    if dropped:
        forget_partitions()
    return dropped


def drop_partitions(names: list[str]) -> None:
    """DROP runs on its own connection (it needs an exclusive lock on the parent)."""
    if not names:
        return
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("SET lock_timeout = '15s'")
        for n in names:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {n}")
    forget_partitions()


# ---------------------------------------------------------------- bulk paths (demo history, imports, benchmarks)

def insert_rollups(session: Session, rows: list[tuple]) -> None:
    """rows: (device_id, quantity, grain, bucket, n, total, vmin, vmax, vlast, last_ts)."""
    if not rows:
        return
    raw = session.connection().connection
    cur = raw.cursor()
    try:
        if is_postgres(session):
            for i in range(0, len(rows), 100_000):
                cols = [list(c) for c in zip(*rows[i:i + 100_000], strict=True)]
                cur.execute("INSERT INTO iot_rollup (device_id, quantity, grain, bucket, n, total, vmin, vmax, vlast, "
                            "last_ts) SELECT * FROM unnest(%b::int4[], %b::varchar[], %b::varchar[], %b::int8[], "
                            "%b::int4[], %b::float8[], %b::float8[], %b::float8[], %b::float8[], %b::int8[])", cols)
        else:
            cur.executemany("INSERT INTO iot_rollup (device_id, quantity, grain, bucket, n, total, vmin, vmax, vlast, "
                            "last_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    finally:
        cur.close()


def bulk_load(session: Session, rows: list[tuple[int, str, int, float, int]], *, minute: bool = True) -> int:
    """Load history for devices with no readings yet in the covered range: raw rows, latest values and
    roll-ups computed in one pass (no dirty queue). Call ``ensure_partitions`` first on PostgreSQL."""
    if not rows:
        return 0
    inserted = 0
    for i in range(0, len(rows), 200_000):
        inserted += insert_readings(session, rows[i:i + 200_000])
    by_dev: dict[int, list[tuple[str, int, float]]] = defaultdict(list)
    latest: dict[tuple[int, str], tuple[int, float, int]] = {}
    for d, q, ts, v, f in rows:
        cur = latest.get((d, q))
        if cur is None or ts > cur[0]:
            latest[(d, q)] = (ts, v, f)
        if f == 0:
            by_dev[d].append((q, ts, v))
    session.execute(text(
        "INSERT INTO iot_latest (device_id, quantity, ts, value, flag) VALUES (:d, :q, :ts, :v, :f) "
        "ON CONFLICT (device_id, quantity) DO UPDATE SET ts = excluded.ts, value = excluded.value, "
        "flag = excluded.flag WHERE excluded.ts > iot_latest.ts"),
        [{"d": d, "q": q, "ts": t, "v": v, "f": f} for (d, q), (t, v, f) in sorted(latest.items())])
    out: list[tuple] = []
    grains = [("hour", lambda t: t - t % HOUR_MS), ("day", _day_bucket)]
    if minute:
        grains.insert(0, ("minute", lambda t: t - t % MINUTE_MS))
    for dev, items in by_dev.items():
        items.sort(key=lambda r: r[1])
        for grain, fn in grains:
            for (q, b), (n, tot, mn, mx, last, lts) in _agg_rows(items, fn).items():
                out.append((dev, q, grain, b, n, tot, mn, mx, last, lts))
    insert_rollups(session, out)
    return inserted
