"""The CLI: user add, token create (prints only the token), init idempotence, worker task, calendar."""

from __future__ import annotations

from datetime import date

from typer.testing import CliRunner

from citybase.cli import app
from citybase.db import make_session, session_scope

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


def test_calendar_overrides_change_deadlines(city):
    from citybase.core.calendar import service as cal
    from citybase.core.identity import service as identity

    with make_session() as s:
        admin = identity.principal_for(identity.get_user(s, "admin"), "session")
        assert cal.is_workday(s, date(2027, 2, 8))  # a Monday: the package has no 2027 data
    with session_scope() as s:
        cal.set_override(s, admin, date(2027, 2, 8), False, "2027 春节")
    with make_session() as s:
        assert not cal.is_workday(s, date(2027, 2, 8))
        assert cal.is_workday(s, date(2024, 9, 29))  # 2024 国庆调休 Sunday
        assert not cal.is_workday(s, date(2024, 10, 1))
