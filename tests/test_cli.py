"""The CLI: user add, token create (prints only the token), init idempotence, worker task."""

from __future__ import annotations

from typer.testing import CliRunner

from citybase.cli import app
from citybase.db import make_session

runner = CliRunner()


def test_user_add_and_token_create(city):
    r = runner.invoke(app, ["user", "add", "zhang.san", "--org", "320213", "--role", "staff", "--password-stdin"],
                      input="zhangsan2026\n")
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["token", "create", "zhang.san", "--expires-days", "5"])
    assert r.exit_code == 0
    token = r.stdout.strip()
    assert token.startswith("cbt_") and "\n" not in token
    from citybase.core.identity import service as identity

    with make_session() as s:
        assert identity.resolve_token(s, token).username == "zhang.san"


def test_cli_errors_are_chinese_with_codes(city):
    r = runner.invoke(app, ["user", "add", "admin", "--org", "320213", "--role", "staff", "--password-stdin"],
                      input="abc12345\n")
    assert r.exit_code == 2 and "duplicate_username" in r.output and "用户名已存在" in r.output
    r = runner.invoke(app, ["user", "add", "nobody1", "--org", "999", "--role", "staff", "--password-stdin"],
                      input="abc12345\n")
    assert r.exit_code == 2 and "unknown_org" in r.output
    r = runner.invoke(app, ["token", "create", "ghost"])
    assert r.exit_code == 2 and "unknown_user" in r.output


def test_init_twice_changes_nothing(city):
    from citybase.core.audit import service as audit

    with make_session() as s:
        before = audit.ledger_size(s)
    r = runner.invoke(app, ["init"])
    assert r.exit_code == 0, r.output
    with make_session() as s:
        assert audit.ledger_size(s) == before


def test_periodic_checkpoint_task_signs_the_tail(city):
    from citybase.core.audit.jobs import sign_ledger_checkpoint
    from citybase.core.audit.models import AuditCheckpoint

    seq = sign_ledger_checkpoint.call_local()
    with make_session() as s:
        assert s.get(AuditCheckpoint, seq) is not None
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0
