"""The ledger detects every kind of tampering; only the signed checkpoint catches a recomputed chain."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from citybase.cli import app
from citybase.core.audit import service as audit
from citybase.core.audit.models import AuditEntry
from citybase.core.identity.principal import SYSTEM
from citybase.db import get_engine, make_session, session_scope
from citybase.standards.crypto import sm3

runner = CliRunner()


def _fill(n: int) -> None:
    with session_scope() as s:
        for i in range(n):
            audit.record(s, SYSTEM, "test.write", "thing", str(i), {"i": i, "名称": f"事项{i}"})


def _tamper(sql: str, **params) -> None:
    """An attacker with database access: drop the append-only triggers, then edit rows."""
    engine = get_engine()
    with engine.begin() as conn:
        for table in ("audit_entry", "audit_checkpoint"):
            if engine.dialect.name == "postgresql":
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            else:
                for t in (f"{table}_no_update", f"{table}_no_delete"):
                    conn.execute(text(f"DROP TRIGGER IF EXISTS {t}"))
        conn.execute(text(sql), params)
        if engine.dialect.name == "postgresql":
            for table in ("audit_entry", "audit_checkpoint"):
                conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


def _verify(*args: str):
    return runner.invoke(app, ["audit", "verify", "--json", *args])


def _report(result) -> dict:
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_hashes_follow_the_published_formula(db_home):
    _fill(3)
    with make_session() as s:
        rows = s.query(AuditEntry).order_by(AuditEntry.seq).all()
    prev = bytes(32)
    for e in rows:
        body = json.dumps({"actor": e.actor, "action": e.action, "object": {"type": e.object_type, "id": e.object_id},
                           "detail": json.loads(e.detail), "time": e.ts},
                          ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        eh = sm3(b"\x00" + body.encode())
        assert eh.hex() == e.entry_hash
        prev = sm3(b"\x01" + prev + eh)
        assert prev.hex() == e.chain_hash


def test_intact_ledger_verifies(db_home):
    _fill(250)
    result = _verify()
    assert result.exit_code == 0, result.output
    report = _report(result)
    assert report["ok"] and report["checked"] == 250 and report["checkpoints_checked"] == 2


def test_database_refuses_updates_and_deletes(db_home):
    _fill(2)
    with pytest.raises(Exception, match="append-only"), get_engine().begin() as conn:
        conn.execute(text("UPDATE audit_entry SET actor='x' WHERE seq=1"))
    with pytest.raises(Exception, match="append-only"), get_engine().begin() as conn:
        conn.execute(text("DELETE FROM audit_entry WHERE seq=2"))


def test_edited_entry_is_detected(db_home):
    _fill(20)
    _tamper("UPDATE audit_entry SET detail = :d WHERE seq = 7", d='{"i":700}')
    result = _verify()
    assert result.exit_code == 1
    assert _report(result)["first_bad_seq"] == 7
    assert _report(result)["reason"] == "entry_hash"


def test_deleted_entry_is_detected(db_home):
    _fill(20)
    _tamper("DELETE FROM audit_entry WHERE seq = 11")
    result = _verify()
    assert result.exit_code == 1
    assert _report(result)["first_bad_seq"] == 11


def test_swapped_entries_are_detected(db_home):
    _fill(20)
    with make_session() as s:
        a, b = s.get(AuditEntry, 5), s.get(AuditEntry, 6)
        cols = ["ts", "actor", "action", "object_type", "object_id", "detail", "entry_hash", "chain_hash"]
        va, vb = {c: getattr(a, c) for c in cols}, {c: getattr(b, c) for c in cols}
    sets = ", ".join(f"{c} = :{c}" for c in cols)
    _tamper(f"UPDATE audit_entry SET {sets} WHERE seq = 5", **vb)
    _tamper(f"UPDATE audit_entry SET {sets} WHERE seq = 6", **va)
    result = _verify()
    assert result.exit_code == 1
    assert _report(result)["first_bad_seq"] == 5


def test_truncated_tail_is_caught_by_exported_checkpoint(db_home, tmp_path):
    _fill(30)
    cp = tmp_path / "auditor-copy.json"
    assert runner.invoke(app, ["audit", "export-checkpoint", str(cp)]).exit_code == 0
    _tamper("DELETE FROM audit_entry WHERE seq > 24")
    _tamper("DELETE FROM audit_checkpoint WHERE seq > 24")
    assert _verify().exit_code == 0  # nothing inside the database betrays a clean cut …
    result = _verify("--checkpoints", str(cp))  # … the auditor's copy does
    assert result.exit_code == 1
    assert _report(result)["first_bad_seq"] == 25
    assert _report(result)["reason"] == "truncated"


def test_recomputed_chain_is_caught_only_by_signed_checkpoint(db_home, tmp_path):
    _fill(150)  # one automatic checkpoint at 100
    cp = tmp_path / "auditor-copy.json"
    runner.invoke(app, ["audit", "export-checkpoint", str(cp)])
    # The attacker rewrites entry 40 and recomputes every hash after it, consistently.
    with make_session() as s:
        rows = s.query(AuditEntry).order_by(AuditEntry.seq).all()
        prev = bytes(32)
        new = []
        for e in rows:
            detail = '{"i":4000}' if e.seq == 40 else e.detail
            eh = audit.entry_hash(e.actor, e.action, e.object_type, e.object_id, detail, e.ts)
            prev = audit.chain_hash(prev, eh)
            new.append({"seq": e.seq, "detail": detail, "e": eh.hex(), "c": prev.hex()})
    for row in new:
        _tamper("UPDATE audit_entry SET detail=:detail, entry_hash=:e, chain_hash=:c WHERE seq=:seq", **row)
    # every link is consistent again; only signatures can tell
    with make_session() as s:
        report = audit.verify(s, cp)
    assert not report.ok
    assert {p["reason"] for p in report.problems} == {"checkpoint_mismatch"}
    assert report.first_bad_seq == 1  # somewhere between the start and the first checkpoint
    assert _verify("--checkpoints", str(cp)).exit_code == 1


def test_forged_checkpoint_file_signature_is_rejected(db_home, tmp_path):
    _fill(5)
    cp = tmp_path / "cp.json"
    runner.invoke(app, ["audit", "export-checkpoint", str(cp)])
    doc = json.loads(cp.read_text())
    doc["checkpoints"][-1]["chain"] = "0" * 64
    cp.write_text(json.dumps(doc))
    result = _verify("--checkpoints", str(cp))
    assert result.exit_code == 1
    assert _report(result)["reason"] == "checkpoint_signature"


def test_bad_checkpoint_file_is_a_clear_error(db_home, tmp_path):
    bad = tmp_path / "garbage.json"
    bad.write_text("not json")
    result = runner.invoke(app, ["audit", "verify", "--checkpoints", str(bad)])
    assert result.exit_code == 2
    assert "bad_checkpoint_file" in result.output


def test_change_and_entry_commit_together(city):
    """A failing service call leaves neither the change nor its ledger entry."""
    from citybase.core.errors import Conflict
    from citybase.core.identity import service as identity

    with make_session() as s:
        before = audit.ledger_size(s)
    with pytest.raises(Conflict), session_scope() as s:
        identity.create_user(s, SYSTEM, username="u_once", org_code="320200-dsj", role="staff", password="abcd1234x")
        identity.create_user(s, SYSTEM, username="u_once", org_code="320200-dsj", role="staff", password="abcd1234x")
    with make_session() as s:
        assert audit.ledger_size(s) == before
