"""citybase command line (Typer + Rich). Every command honours CITYBASE_HOME."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from citybase.config import get_settings
from citybase.console import console, err_console, friendly, progress
from citybase.core.errors import CitybaseError

app = typer.Typer(help="citybase 城市数字底座", no_args_is_help=True, add_completion=False)
user_app = typer.Typer(help="用户管理", no_args_is_help=True)
token_app = typer.Typer(help="API 令牌", no_args_is_help=True)
audit_app = typer.Typer(help="审计账本", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit")

# ---------------------------------------------------------------- init / serve / worker

def run_init(admin_password: str | None = None, quiet: bool = False) -> dict[str, Any]:
    """Idempotent: migrate, load reference data, create the admin."""
    from citybase.core.identity import service as identity
    from citybase.core.identity.principal import SYSTEM
    from citybase.db import migrate, session_scope

    settings = get_settings()
    settings.ensure_dirs()
    migrate()
    with session_scope() as s:
        counts = identity.load_reference_orgs(s, SYSTEM, settings.city_code)
    created = False
    password = admin_password or settings.admin_password
    with session_scope() as s:
        has_admin = identity.find_user(s, "admin") is not None
        if not has_admin:
            if password is None:
                if not sys.stdin.isatty():
                    raise CitybaseError("请通过 CITYBASE_ADMIN_PASSWORD 提供管理员初始密码", code="admin_password_missing")
                password = typer.prompt("管理员 admin 的初始密码", hide_input=True, confirmation_prompt=True)
            created = identity.ensure_admin(s, password)
    from citybase.core.audit.service import signing_key

    signing_key()
    if not quiet:
        console.print(f"[green]初始化完成[/green]：数据目录 {settings.home_dir}；新增机构 {counts or '无'}"
                      f"{'；已创建管理员 admin' if created else ''}")
    return {"orgs": counts, "admin_created": created}


@app.command()
@friendly
def init() -> None:
    """迁移数据库、加载参考数据、创建管理员（可重复执行）。"""
    run_init()


@app.command()
@friendly
def serve(host: str = typer.Option("127.0.0.1", help="监听地址"), port: int = typer.Option(8000, help="端口"),
          workers: int = typer.Option(1, help="进程数")) -> None:
    """启动 Web 服务（多进程时每个进程各自监听同一端口，由内核均分连接）。"""
    from citybase.web.server import PortInUse
    from citybase.web.server import serve as run_server

    console.print(f"城市数字底座已启动：http://{host}:{port}  （{workers} 个进程，Ctrl+C 停止）")
    try:
        code = run_server(host, port, workers)
    except PortInUse as exc:
        console.print(f"[red]{exc}[/red]（端口已被其他程序占用？可用 --port 换一个端口）")
        raise typer.Exit(1) from exc
    raise typer.Exit(code)


@app.command()
def worker(workers: int = typer.Option(2, help="并发线程数")) -> None:
    """运行后台任务队列（定时器、同步任务）。"""
    from citybase.jobs import huey, load_job_modules

    load_job_modules()
    console.print(f"后台任务进程已启动（{workers} 个线程）")
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True,
                                    check_worker_health=True)
    consumer.run()


@app.command()
@friendly
def demo(port: int = typer.Option(8000, help="端口"), host: str = typer.Option("127.0.0.1", help="监听地址"),
         no_serve: bool = typer.Option(False, "--no-serve", help="只加载演示数据，不启动服务")) -> None:
    """加载无锡演示数据并启动服务。"""
    from citybase.demo.loader import DEMO_PASSWORD, load_demo

    run_init(admin_password=get_settings().admin_password or DEMO_PASSWORD, quiet=True)
    accounts = load_demo(console=console)
    table = Table(title="演示账号（密码均为 " + DEMO_PASSWORD + "）")
    for col in ("用户名", "角色", "机构"):
        table.add_column(col)
    for a in accounts:
        table.add_row(a["username"], a["role_label"], a["org_name"])
    console.print(table)
    if not no_serve:
        serve(host=host, port=port, workers=1)


@app.command("config")
def config_show(markdown: bool = typer.Option(False, "--markdown", help="输出 README 用的 Markdown 参考表（默认值，不含本机取值）"),
                as_json: bool = typer.Option(False, "--json", help="输出 JSON")) -> None:
    """显示生效的配置（环境变量 CITYBASE_*，密钥类不显示）。"""
    from citybase.config import describe, reference_table

    if markdown:
        typer.echo(reference_table())
        return
    if as_json:
        typer.echo(json.dumps(describe(), ensure_ascii=False))
        return
    table = Table(title="生效配置（CITYBASE_*）")
    for col in ("环境变量", "当前值", "默认值", "说明"):
        table.add_column(col)
    for row in describe():
        table.add_row(row["variable"], row["value"], row["default"], row["description"])
    console.print(table)


# ---------------------------------------------------------------- users and tokens

@user_app.command("add")
@friendly
def user_add(username: str, org: str = typer.Option(..., "--org", help="机构代码"),
             role: str = typer.Option(..., "--role", help="admin/auditor/data_officer/staff/grid_worker/operator"),
             display_name: str = typer.Option(None, "--name", help="姓名"),
             password_stdin: bool = typer.Option(False, "--password-stdin", help="从标准输入读取密码")) -> None:
    """新建用户。"""
    from citybase.core.identity import service as identity
    from citybase.core.identity.principal import SYSTEM
    from citybase.db import session_scope

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("密码", hide_input=True, confirmation_prompt=True)
    with session_scope() as s:
        user = identity.create_user(s, SYSTEM, username=username, org_code=org, role=role, password=password,
                                    display_name=display_name)
        console.print(f"已创建用户 {user.username}（{user.role}，{user.org_code}）")


@user_app.command("list")
@friendly
def user_list() -> None:
    """列出用户。"""
    from citybase.core.identity import service as identity
    from citybase.core.identity.principal import SYSTEM
    from citybase.db import make_session

    table = Table()
    for col in ("用户名", "姓名", "角色", "机构", "状态"):
        table.add_column(col)
    with make_session() as s:
        for u in identity.list_users(s, SYSTEM):
            table.add_row(u.username, u.display_name, u.role, u.org_code, "正常" if u.active else "停用")
    console.print(table)


@token_app.command("create")
@friendly
def token_create(username: str, expires_days: int = typer.Option(None, "--expires-days", help="有效天数"),
                 name: str = typer.Option("", "--name", help="用途说明")) -> None:
    """为用户创建 API 令牌（只打印令牌本身）。"""
    from citybase.core.identity import service as identity
    from citybase.core.identity.principal import SYSTEM
    from citybase.db import session_scope

    with session_scope() as s:
        _, plain = identity.create_token(s, SYSTEM, username, name=name, expires_days=expires_days)
    typer.echo(plain)


@token_app.command("revoke")
@friendly
def token_revoke(token_id: int) -> None:
    """吊销令牌。"""
    from citybase.core.identity import service as identity
    from citybase.core.identity.principal import SYSTEM
    from citybase.db import session_scope

    with session_scope() as s:
        identity.revoke_token(s, SYSTEM, token_id)
    console.print(f"已吊销令牌 {token_id}")


# ---------------------------------------------------------------- audit

@audit_app.command("verify")
@friendly
def audit_verify(checkpoints: Path = typer.Option(None, "--checkpoints", help="审计员保存的检查点文件"),
                 as_json: bool = typer.Option(False, "--json", help="输出 JSON")) -> None:
    """逐条重算哈希链并核对每个签名检查点。完好时退出码 0。"""
    from citybase.core.audit import service as audit
    from citybase.db import make_session

    with make_session() as s:
        total = audit.ledger_size(s)
        with progress() as bar:
            task = bar.add_task("校验审计账本", total=total or 1)
            report = audit.verify(s, checkpoints, progress=lambda n: bar.update(task, completed=n))
            bar.update(task, completed=total or 1)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    elif report.ok:
        console.print(f"[green]✔ {report.message}[/green]")
    else:
        err_console.print(f"[red]✘ 账本校验失败：第一个异常在第 {report.first_bad_seq} 条（{report.reason}）[/red]")
        err_console.print(report.message)
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("export-checkpoint")
@friendly
def audit_export(path: Path) -> None:
    """先签名当前链尾，再把全部签名检查点和公钥导出到文件，交审计员另行保管。"""
    from citybase.core.audit import service as audit
    from citybase.db import session_scope

    with session_scope() as s:
        audit.sign_tail(s)
        n = audit.export_checkpoints(s, path)
    console.print(f"已导出 {n} 个检查点到 {path}")


def _register_modules() -> None:
    """Each module's cli.py exposes ``register(app: typer.Typer)``."""
    from citybase.modules import rooms

    for mod in rooms("cli"):
        mod.register(app)


_register_modules()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
