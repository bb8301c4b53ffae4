"""Write, read and verify the ledger.

entry_hash_i = SM3(0x00 ‖ canonical JSON of {actor, action, object, detail, time})
chain_i      = SM3(0x01 ‖ chain_{i-1} ‖ entry_hash_i), chain_0 = 32 zero bytes
Checkpoints sign "seq|chain|time" with the instance's Ed25519 key.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Select, false, func, or_, select, text
from sqlalchemy.orm import Session

from citybase.config import get_settings
from citybase.core.audit.models import AuditCheckpoint, AuditEntry
from citybase.core.errors import BadInput
from citybase.core.identity.principal import Principal, authorize
from citybase.core.keyfile import read_or_create
from citybase.core.pagination import Page, paginate
from citybase.db import insert_rows, is_postgres
from citybase.standards.crypto import sm3

GENESIS = bytes(32)
_LOCK_KEY = 0x63627564  # "cbud": the PostgreSQL advisory lock that serialises ledger appends
KEY_FILE = "audit_ed25519.pem"


def canonical_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(actor: str, action: str, object_type: str, object_id: str, detail_json: str, ts: str) -> bytes:
    body = canonical_json({
        "actor": actor,
        "action": action,
        "object": {"type": object_type, "id": object_id},
        "detail": json.loads(detail_json),
        "time": ts,
    })
    return sm3(b"\x00" + body.encode("utf-8"))


def chain_hash(prev: bytes, e_hash: bytes) -> bytes:
    return sm3(b"\x01" + prev + e_hash)


# ---------------------------------------------------------------- keys

def _key_path() -> Path:
    return get_settings().keys_dir / KEY_FILE


def signing_key() -> Ed25519PrivateKey:
    def generate() -> bytes:
        return Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())

    key = serialization.load_pem_private_key(read_or_create(_key_path(), generate), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def public_key_bytes(key: Ed25519PrivateKey | None = None) -> bytes:
    key = key or signing_key()
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(pub: bytes) -> str:
    return sm3(pub).hex()[:16]


def _checkpoint_message(seq: int, chain_hex: str, ts: str) -> bytes:
    return f"citybase-checkpoint|{seq}|{chain_hex}|{ts}".encode()


# ---------------------------------------------------------------- writing

def _now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _lock_tail(session: Session) -> None:
    if is_postgres(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


def record(session: Session, actor: Principal | str, action: str, object_type: str,
           object_id: str | int, detail: dict[str, Any] | None = None) -> AuditEntry:
    """Append one entry inside the caller's transaction (the change and its entry commit together)."""
    actor_name = actor.actor if isinstance(actor, Principal) else str(actor)
    detail_json = canonical_json(detail or {})
    _lock_tail(session)
    last = session.execute(select(AuditEntry.seq, AuditEntry.chain_hash)
                           .order_by(AuditEntry.seq.desc()).limit(1)).first()
    seq = (last[0] + 1) if last else 1
    prev = bytes.fromhex(last[1]) if last else GENESIS
    ts = _now_text()
    e_hash = entry_hash(actor_name, action, object_type, str(object_id), detail_json, ts)
    c_hash = chain_hash(prev, e_hash)
    entry = AuditEntry(seq=seq, ts=ts, actor=actor_name, action=action, object_type=object_type,
                       object_id=str(object_id), detail=detail_json, entry_hash=e_hash.hex(),
                       chain_hash=c_hash.hex())
    session.add(entry)
    session.flush()
    every = get_settings().audit_checkpoint_every
    if every > 0 and seq % every == 0:
        _sign_checkpoint(session, seq, c_hash.hex())
    return entry


def record_many(session: Session, entries: list[tuple[Principal | str, str, str, str | int, dict[str, Any] | None]]
                ) -> None:
    """Append several entries (actor, action, object type, object id, detail) in order, inside the
    caller's transaction: one lock and one read of the tail for all of them, one INSERT batch.
    Entries and checkpoints are exactly what as many :func:`record` calls would write."""
    if not entries:
        return
    _lock_tail(session)
    last = session.execute(select(AuditEntry.seq, AuditEntry.chain_hash)
                           .order_by(AuditEntry.seq.desc()).limit(1)).first()
    seq = last[0] if last else 0
    prev = bytes.fromhex(last[1]) if last else GENESIS
    every = get_settings().audit_checkpoint_every
    rows: list[dict[str, Any]] = []
    checkpoints: list[tuple[int, str]] = []
    for actor, action, object_type, object_id, detail in entries:
        actor_name = actor.actor if isinstance(actor, Principal) else str(actor)
        detail_json = canonical_json(detail or {})
        seq += 1
        ts = _now_text()
        e_hash = entry_hash(actor_name, action, object_type, str(object_id), detail_json, ts)
        prev = chain_hash(prev, e_hash)
        rows.append({"seq": seq, "ts": ts, "actor": actor_name, "action": action, "object_type": object_type,
                     "object_id": str(object_id), "detail": detail_json, "entry_hash": e_hash.hex(),
                     "chain_hash": prev.hex()})
        if every > 0 and seq % every == 0:
            checkpoints.append((seq, prev.hex()))
    insert_rows(session, AuditEntry.__table__, rows)
    for cp_seq, cp_hash in checkpoints:
        _sign_checkpoint(session, cp_seq, cp_hash)


def _sign_checkpoint(session: Session, seq: int, chain_hex: str) -> AuditCheckpoint:
    key = signing_key()
    ts = _now_text()
    sig = key.sign(_checkpoint_message(seq, chain_hex, ts))
    existing = session.get(AuditCheckpoint, seq)
    if existing is not None:
        return existing
    cp = AuditCheckpoint(seq=seq, chain_hash=chain_hex, ts=ts, key_id=key_id(public_key_bytes(key)),
                         signature=base64.b64encode(sig).decode(), created_at=datetime.now(UTC))
    session.add(cp)
    session.flush()
    return cp


def checkpoint(session: Session, principal: Principal) -> AuditCheckpoint | None:
    """Sign the current tail now (the auditor's button uses it)."""
    authorize(principal, "audit.verify")
    return sign_tail(session)


def sign_tail(session: Session) -> AuditCheckpoint | None:
    """Sign the current tail (the periodic job and the host CLI use it)."""
    _lock_tail(session)
    last = session.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one_or_none()
    if last is None:
        return None
    return _sign_checkpoint(session, last.seq, last.chain_hash)


# ---------------------------------------------------------------- reading

def _filtered(*, actor: str | None = None, action: str | None = None, object_type: str | None = None,
              object_id: str | None = None, actors: list[str] | None = None, since: str | None = None,
              until: str | None = None) -> Select:
    stmt: Select = select(AuditEntry).order_by(AuditEntry.seq.desc())
    if actor:  # a person's entries, including those made with their API tokens (user#tokenN)
        stmt = stmt.where((AuditEntry.actor == actor) | AuditEntry.actor.startswith(f"{actor}#token", autoescape=True))
    if actors is not None:  # an organisation's people, by session or by their tokens
        stmt = stmt.where(or_(AuditEntry.actor.in_(actors), *[AuditEntry.actor.startswith(f"{a}#token", autoescape=True) for a in actors])
                          if actors else false())
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action, autoescape=True))
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type)
    if object_id:
        stmt = stmt.where(AuditEntry.object_id == object_id)
    if since:  # ISO-8601 UTC texts compare in time order
        stmt = stmt.where(AuditEntry.ts >= since)
    if until:
        stmt = stmt.where(AuditEntry.ts < until)
    return stmt


def list_entries(session: Session, principal: Principal, *, actor: str | None = None,
                 action: str | None = None, object_type: str | None = None, object_id: str | None = None,
                 actors: list[str] | None = None, since: str | None = None, until: str | None = None,
                 page: int = 1, size: int = 50) -> Page[AuditEntry]:
    """A page of the ledger, newest first. ``actors``: only these usernames (an organisation's people);
    ``since``/``until``: ISO-8601 UTC bounds (until exclusive)."""
    authorize(principal, "audit.read")
    stmt = _filtered(actor=actor, action=action, object_type=object_type, object_id=object_id, actors=actors,
                     since=since, until=until)
    return paginate(session, stmt, page, size)


def iter_entries(session: Session, principal: Principal, *, limit: int = 100_000, **filters: Any) -> list[AuditEntry]:
    """The entries of a filtered view for export (newest first, at most ``limit``)."""
    authorize(principal, "audit.export")
    return list(session.execute(_filtered(**filters).limit(limit)).scalars())


def entries_for_object(session: Session, object_type: str, object_id: str) -> list[AuditEntry]:
    """For modules that show an object's own history to people allowed to see the object."""
    return list(session.execute(select(AuditEntry).where(AuditEntry.object_type == object_type,
                                                         AuditEntry.object_id == str(object_id))
                                .order_by(AuditEntry.seq)).scalars())


def ledger_size(session: Session) -> int:
    return session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()


# ---------------------------------------------------------------- checkpoints file

def export_checkpoints(session: Session, path: Path) -> int:
    """Write every signed checkpoint plus the public key, for the auditor to keep elsewhere."""
    cps = session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).scalars().all()
    pub = public_key_bytes()
    doc = {
        "format": "citybase-audit-checkpoints/1",
        "exported_at": _now_text(),
        "public_key": base64.b64encode(pub).decode(),
        "key_id": key_id(pub),
        "checkpoints": [{"seq": c.seq, "chain": c.chain_hash, "time": c.ts, "signature": c.signature}
                        for c in cps],
    }
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    return len(cps)


def load_checkpoint_file(path: Path) -> tuple[Ed25519PublicKey, list[dict[str, Any]]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        pub = Ed25519PublicKey.from_public_bytes(base64.b64decode(doc["public_key"]))
        cps = [{"seq": int(c["seq"]), "chain": str(c["chain"]), "time": str(c["time"]),
                "signature": str(c["signature"])} for c in doc["checkpoints"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BadInput("检查点文件无法读取或格式不正确", code="bad_checkpoint_file",
                       detail={"path": str(path), "error": str(exc)}) from exc
    return pub, cps


# ---------------------------------------------------------------- verification

@dataclass
class VerifyReport:
    ok: bool
    checked: int = 0
    last_seq: int = 0
    checkpoints_checked: int = 0
    first_bad_seq: int | None = None
    reason: str | None = None
    message: str = ""
    problems: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, seq: int, reason: str, message: str) -> None:
        self.problems.append({"seq": seq, "reason": reason, "message": message})
        if self.first_bad_seq is None or seq < self.first_bad_seq:
            self.first_bad_seq, self.reason, self.message = seq, reason, message
        self.ok = False

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "last_seq": self.last_seq,
                "checkpoints_checked": self.checkpoints_checked, "first_bad_seq": self.first_bad_seq,
                "reason": self.reason, "message": self.message, "problems": self.problems[:20]}


def verify(session: Session, checkpoints_file: Path | None = None, progress=None) -> VerifyReport:
    """Recompute every entry hash and every chain link, then check every signed checkpoint."""
    report = VerifyReport(ok=True)
    db_cps = session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).scalars().all()
    own_pub = Ed25519PublicKey.from_public_bytes(public_key_bytes())
    checks: list[tuple[str, Ed25519PublicKey, dict[str, Any]]] = [
        ("db", own_pub, {"seq": c.seq, "chain": c.chain_hash, "time": c.ts, "signature": c.signature})
        for c in db_cps
    ]
    if checkpoints_file is not None:
        pub, file_cps = load_checkpoint_file(checkpoints_file)
        checks += [("file", pub, c) for c in file_cps]
    wanted = {c["seq"] for _, _, c in checks}
    chains: dict[int, str] = {}

    prev = GENESIS
    expected = 1
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=2000))
    for entry in rows.scalars():
        if entry.seq != expected:
            report.fail(expected, "missing", f"第 {expected} 条记录缺失（下一条为第 {entry.seq} 条）")
            expected = entry.seq
        try:
            e_hash = entry_hash(entry.actor, entry.action, entry.object_type, entry.object_id,
                                entry.detail, entry.ts)
        except (ValueError, TypeError):
            e_hash = b""
        if e_hash.hex() != entry.entry_hash:
            report.fail(entry.seq, "entry_hash", f"第 {entry.seq} 条记录的内容与其哈希不符（内容被修改）")
        c_hash = chain_hash(prev, bytes.fromhex(entry.entry_hash) if _is_hex(entry.entry_hash) else b"")
        if c_hash.hex() != entry.chain_hash:
            report.fail(entry.seq, "chain", f"第 {entry.seq} 条记录的链哈希不连续（记录被删除、调换或改写）")
        prev = bytes.fromhex(entry.chain_hash) if _is_hex(entry.chain_hash) else c_hash
        if entry.seq in wanted:
            chains[entry.seq] = c_hash.hex()
        report.checked += 1
        report.last_seq = entry.seq
        expected = entry.seq + 1
        if progress is not None and report.checked % 5000 == 0:
            progress(report.checked)

    good_before = 0
    for source, pub, cp in sorted(checks, key=lambda t: t[2]["seq"]):
        report.checkpoints_checked += 1
        where = "导出的检查点文件" if source == "file" else "数据库中的检查点"
        try:
            pub.verify(base64.b64decode(cp["signature"]), _checkpoint_message(cp["seq"], cp["chain"], cp["time"]))
        except (InvalidSignature, ValueError):
            report.fail(cp["seq"], "checkpoint_signature", f"{where}第 {cp['seq']} 条的签名无效")
            continue
        if cp["seq"] > report.last_seq:
            report.fail(report.last_seq + 1, "truncated",
                        f"{where}记录到第 {cp['seq']} 条，但账本只剩 {report.last_seq} 条（尾部被截断）")
        elif chains.get(cp["seq"]) != cp["chain"]:
            report.fail(good_before + 1, "checkpoint_mismatch",
                        f"重新计算的链与{where}第 {cp['seq']} 条不符：第 {good_before + 1}–{cp['seq']} 条之间的记录被改写")
        else:
            good_before = max(good_before, cp["seq"])
    if report.ok:
        report.message = f"账本完整：{report.checked} 条记录，{report.checkpoints_checked} 个签名检查点均通过"
    return report


def _is_hex(value: str) -> bool:
    try:
        bytes.fromhex(value)
        return len(value) == 64
    except (ValueError, TypeError):
        return False
